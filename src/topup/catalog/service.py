"""Catalog services: plans and their prices, zones, top-up limits, presets and rates.

This module is the catalogue's public face: zone, limit, preset and rate functions live in
``zones.py`` and ``pricing.py`` and are re-exported here, so callers import from one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, delete, func, insert, or_, select, update

from topup.catalog.errors import InvalidPlan, PlanNotFound, PlanNotOnSale, PriceNotAvailable
from topup.catalog.fees import fee_for, fee_rules_list, remove_fee_rule, set_fee_rule
from topup.catalog.pricing import (
    GLOBAL_ZONE,
    check_topup_amount,
    default_topup_limit,
    oob_charge,
    oob_rate,
    presets,
    set_oob_rate,
    set_presets,
    set_topup_limit,
    topup_limit,
)
from topup.catalog.tables import PLAN_KINDS, RENEW_ON, VALIDITY_STARTS, plan_prices, plans, zones
from topup.catalog.tables import zone_countries as zc
from topup.catalog.zones import (
    countries_of,
    list_zones,
    upsert_zone,
    zone_covers,
    zone_kind,
    zones_covering,
)
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.money import MAX_AMOUNT, Money, check_currency, offered_currency

__all__ = [
    "GLOBAL_ZONE",
    "Plan",
    "PlanSpec",
    "check_topup_amount",
    "default_topup_limit",
    "ensure_on_sale",
    "fee_for",
    "fee_rules_list",
    "get_plan",
    "get_plan_by_code",
    "list_plans",
    "list_zones",
    "oob_charge",
    "oob_rate",
    "presets",
    "price_of",
    "remove_fee_rule",
    "set_fee_rule",
    "set_oob_rate",
    "set_presets",
    "set_topup_limit",
    "topup_limit",
    "upsert_plan",
    "upsert_zone",
    "validate_plan",
    "zone_covers",
    "zones_covering",
]

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]{0,39}$")


@dataclass(frozen=True, kw_only=True)
class PlanSpec:
    """What an operator defines for a plan; ``upsert_plan`` creates or updates it by ``code``."""

    code: str
    name_en: str
    name_zh: str
    zone_code: str
    kind: str
    data_bytes: int = 0
    voice_seconds: int = 0
    sms_count: int = 0
    validity_days: int
    validity_start: str = "purchase"
    priority: int = 100
    renew_on: str = "expiry"
    sale_from: datetime | None = None
    sale_until: datetime | None = None
    active: bool = True
    prices: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """A plan as stored, with its prices (currency -> minor units) and the countries it covers."""

    id: int
    code: str
    name_en: str
    name_zh: str
    zone_code: str
    kind: str
    data_bytes: int
    voice_seconds: int
    sms_count: int
    validity_days: int
    validity_start: str
    renew_on: str
    priority: int
    sale_from: datetime | None
    sale_until: datetime | None
    active: bool
    created_at: datetime
    prices: dict[str, int]
    countries: tuple[str, ...]

    def name(self, lang: str) -> str:
        """The plan's name in ``lang`` (Chinese for zh and zh-CN, else English)."""
        return self.name_zh if lang.lower().replace("_", "-") in ("zh", "zh-cn") else self.name_en


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_numbers(spec: PlanSpec) -> None:
    for name in ("data_bytes", "voice_seconds", "sms_count", "priority"):
        value = getattr(spec, name)
        if not _is_int(value) or value < 0:
            raise InvalidPlan(f"{name} must be a non-negative integer, not {value!r}", field=name)
    if spec.data_bytes == spec.voice_seconds == spec.sms_count == 0:
        raise InvalidPlan("a plan must grant some data, voice or SMS")
    if not _is_int(spec.validity_days) or spec.validity_days <= 0:
        raise InvalidPlan("validity_days must be a positive integer", field="validity_days")


def _check_window(spec: PlanSpec) -> None:
    for name in ("sale_from", "sale_until"):
        value = getattr(spec, name)
        if value is not None and (not isinstance(value, datetime) or value.tzinfo is None):
            raise InvalidPlan(f"{name} must be a timezone-aware datetime", field=name)
    if spec.sale_from and spec.sale_until and spec.sale_from >= spec.sale_until:
        raise InvalidPlan("sale_from must be before sale_until", field="sale_until")


def _check_prices(prices: dict[str, int], offered: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for currency, amount in prices.items():
        try:
            check_currency(currency)
        except InvalidInput as exc:
            raise InvalidPlan(exc.detail, field="prices") from exc
        cur = offered_currency(currency, offered, field="prices")
        if not _is_int(amount) or not 0 < amount <= MAX_AMOUNT:
            raise InvalidPlan(f"price in {cur} must be a positive integer of minor units, at "
                              f"most {MAX_AMOUNT}", field="prices")
        if cur in out:
            raise InvalidPlan(f"two prices in {cur}", field="prices")
        out[cur] = amount
    return out


def validate_plan(uow: UnitOfWork, spec: PlanSpec) -> PlanSpec:
    """Check ``spec`` and return it normalised (upper-case codes); raises ``InvalidPlan``.

    An unknown zone raises ``UnknownZone``.
    """
    code, zone_code = spec.code.strip().upper(), spec.zone_code.strip().upper()
    if not _CODE.match(code):
        raise InvalidPlan(f"plan code {spec.code!r} must be 1-40 of A-Z 0-9 . _ -", field="code")
    if not all(0 < len(n.strip()) <= 120 for n in (spec.name_en, spec.name_zh)):
        raise InvalidPlan(f"plan {code} needs an English and a Chinese name of 1-120 characters",
                          field="name")
    if spec.kind not in PLAN_KINDS:
        raise InvalidPlan(f"kind must be one of {PLAN_KINDS}, not {spec.kind!r}", field="kind")
    if spec.validity_start not in VALIDITY_STARTS:
        raise InvalidPlan(f"validity_start must be one of {VALIDITY_STARTS}")
    if spec.renew_on not in RENEW_ON or (spec.renew_on == "data_out" and not spec.data_bytes):
        raise InvalidPlan(f"renew_on must be one of {RENEW_ON} (data_out needs data)",
                          field="renew_on")
    _check_numbers(spec)
    _check_window(spec)
    prices = _check_prices(spec.prices, uow.settings.currencies)
    zone_kind(uow, zone_code)
    return PlanSpec(**{**asdict(spec), "code": code, "zone_code": zone_code,
                       "name_en": spec.name_en.strip(), "name_zh": spec.name_zh.strip(),
                       "prices": prices})


def upsert_plan(uow: UnitOfWork, spec: PlanSpec) -> Plan:
    """Create the plan ``spec.code``, or update it in place (same id), and replace its prices."""
    spec = validate_plan(uow, spec)
    values = {k: v for k, v in asdict(spec).items() if k not in ("code", "prices")}
    plan_id = uow.conn.execute(select(plans.c.id).where(plans.c.code == spec.code)).scalar()
    if plan_id is None:
        plan_id = uow.conn.execute(
            insert(plans).values(code=spec.code, created_at=uow.now, **values)
            .returning(plans.c.id)
        ).scalar_one()
    else:
        uow.conn.execute(update(plans).where(plans.c.id == plan_id).values(**values))
    uow.conn.execute(delete(plan_prices).where(plan_prices.c.plan_id == plan_id))
    if spec.prices:
        uow.conn.execute(insert(plan_prices), [
            {"plan_id": plan_id, "currency": c, "amount": a} for c, a in spec.prices.items()
        ])
    return get_plan(uow, int(plan_id))


def _load(uow: UnitOfWork, rows: Iterable[Any]) -> list[Plan]:
    """Turn plan rows into ``Plan``s, fetching prices and countries in one query each."""
    rows = list(rows)
    prices: dict[int, dict[str, int]] = {r.id: {} for r in rows}
    if rows:
        found = uow.conn.execute(
            select(plan_prices).where(plan_prices.c.plan_id.in_(list(prices)))
            .order_by(plan_prices.c.currency)
        )
        for p in found:
            prices[p.plan_id][p.currency] = int(p.amount)
    covered = countries_of(uow, sorted({r.zone_code for r in rows}))
    cols = [c.name for c in plans.columns]
    return [
        Plan(**{c: r._mapping[c] for c in cols}, prices=prices[r.id],
             countries=covered[r.zone_code])
        for r in rows
    ]


def plans_renewing_on_data_out() -> Select[Any]:
    """Ids of plans that auto-renew buys again as soon as their data is used up."""
    return select(plans.c.id).where(plans.c.renew_on == "data_out")


def get_plan(uow: UnitOfWork, plan_id: int) -> Plan:
    """The plan with id ``plan_id``; ``PlanNotFound`` when there is none."""
    row = uow.conn.execute(select(plans).where(plans.c.id == plan_id)).first()
    if row is None:
        raise PlanNotFound(f"no plan {plan_id}", plan_id=plan_id)
    return _load(uow, [row])[0]


def get_plan_by_code(uow: UnitOfWork, code: str) -> Plan:
    """The plan with code ``code`` (case-insensitive); ``PlanNotFound`` when there is none."""
    code = (code or "").strip().upper()
    row = uow.conn.execute(select(plans).where(plans.c.code == code)).first()
    if row is None:
        raise PlanNotFound(f"no plan {code!r}", code=code)
    return _load(uow, [row])[0]


def _like(q: str) -> str:
    escaped = q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_plans(
    uow: UnitOfWork,
    *,
    country: str | None = None,
    zone: str | None = None,
    currency: str | None = None,
    kind: str | None = None,
    q: str | None = None,
    on_sale_at: datetime | None = None,
    include_inactive: bool = False,
) -> list[Plan]:
    """Plans matching every filter given; country plans first, then by validity and data.

    ``country`` keeps plans whose zone covers it (its country plans and the regions' plans);
    ``currency`` keeps plans priced in it; ``q`` searches code and names case-insensitively;
    ``on_sale_at`` keeps plans whose sale window contains that instant.
    """
    cond: list[Any] = [] if include_inactive else [plans.c.active.is_(True)]
    if country:
        cond.append(plans.c.zone_code.in_(
            select(zc.c.zone_code).where(zc.c.country == country.strip().upper())))
    if zone:
        cond.append(plans.c.zone_code == zone.strip().upper())
    if currency:
        cond.append(plans.c.id.in_(select(plan_prices.c.plan_id).where(
            plan_prices.c.currency == currency.strip().upper())))
    if kind:
        cond.append(plans.c.kind == kind)
    if q and q.strip():
        pattern = _like(q)
        cond.append(or_(*[func.lower(c).like(pattern, escape="\\")
                          for c in (plans.c.code, plans.c.name_en, plans.c.name_zh)]))
    if on_sale_at is not None:
        cond.append(or_(plans.c.sale_from.is_(None), plans.c.sale_from <= on_sale_at))
        cond.append(or_(plans.c.sale_until.is_(None), plans.c.sale_until > on_sale_at))
    query = (
        select(plans).join(zones, zones.c.code == plans.c.zone_code).where(*cond)
        .order_by(case((zones.c.kind == "country", 0), else_=1), plans.c.validity_days,
                  plans.c.data_bytes, plans.c.code)
    )
    return _load(uow, uow.conn.execute(query))


def price_of(plan: Plan, currency: str) -> Money:
    """The plan's price in ``currency``; ``PriceNotAvailable`` when it is not sold in it."""
    cur = check_currency(currency)
    if cur not in plan.prices:
        raise PriceNotAvailable(
            f"plan {plan.code} has no price in {cur}", plan=plan.code, currency=cur,
            available=sorted(plan.prices),
        )
    return Money(plan.prices[cur], cur)


def ensure_on_sale(plan: Plan, at: datetime) -> None:
    """Raise ``PlanNotOnSale`` when the plan is inactive or ``at`` is outside its sale window.

    The window is half-open: on sale from ``sale_from`` (inclusive) until ``sale_until``.
    """
    if not plan.active:
        raise PlanNotOnSale(f"plan {plan.code} is not on sale", plan=plan.code)
    if plan.sale_from is not None and at < plan.sale_from:
        raise PlanNotOnSale(f"plan {plan.code} is on sale from {plan.sale_from.isoformat()}",
                            plan=plan.code)
    if plan.sale_until is not None and at >= plan.sale_until:
        raise PlanNotOnSale(f"plan {plan.code} was on sale until {plan.sale_until.isoformat()}",
                            plan=plan.code)
