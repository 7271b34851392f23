"""Money around the plans: top-up limits, preset top-up amounts and out-of-bundle rates.

A limit or rate set on a country zone wins for that country; otherwise the regions covering the
country decide: the tightest limit, the cheapest rate. Rates are ``rate`` minor units per
``per_quantity`` units (bytes, seconds, messages) and are compared exactly, never as floats.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, select, update

from topup.catalog.errors import InvalidCatalogEntry, TopupOutOfLimits
from topup.catalog.tables import OOB_UNITS, oob_rates, topup_limits, topup_presets, zones
from topup.catalog.tables import zone_countries as zc
from topup.catalog.zones import zone_kind
from topup.config import TOPUP_MAX_MAJOR
from topup.db.bulk import Query, read_together
from topup.db.uow import UnitOfWork
from topup.money import MAX_AMOUNT, Money, check_currency, minor_units, offered_currency

GLOBAL_ZONE = "GLOBAL"


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_AMOUNT:
        raise InvalidCatalogEntry(f"{name} must be an integer from 1 to {MAX_AMOUNT}, "
                                  f"not {value!r}", field=name)
    return value


def _put(uow: UnitOfWork, table: Table, keys: dict[str, Any], values: dict[str, Any]) -> None:
    """Insert the row named by ``keys``, or update it when it exists."""
    cond = [table.c[k] == v for k, v in keys.items()]
    if uow.conn.execute(select(*table.primary_key.columns).where(*cond)).first() is None:
        uow.conn.execute(insert(table).values(**keys, **values))
    else:
        uow.conn.execute(update(table).where(*cond).values(**values))


def set_topup_limit(
    uow: UnitOfWork, zone_code: str, currency: str, min_amount: int, max_amount: int
) -> None:
    """Set the minimum and maximum of one money top-up (minor units) in a country or region."""
    zone_code = zone_code.strip().upper()
    zone_kind(uow, zone_code)
    currency = offered_currency(currency, uow.settings.currencies)
    _positive("min_amount", min_amount)
    if _positive("max_amount", max_amount) < min_amount:
        raise InvalidCatalogEntry("max_amount must not be below min_amount", field="max_amount")
    _put(uow, topup_limits, {"zone_code": zone_code, "currency": currency},
         {"min_amount": min_amount, "max_amount": max_amount})
    uow.memo.clear()  # limits read earlier in this unit are stale now


def _own_zone_row(uow: UnitOfWork, table: Table, country: str, **cond: str) -> Any:
    """The row of ``table`` set on ``country``'s own country zone, if any."""
    query = _zone_query(table, tuple(cond), "country", False)
    rows = read_together(uow.conn, [(query, _zone_values(country, cond))])[0]
    return rows[0] if rows else None


def _region_rows(uow: UnitOfWork, table: Table, country: str | None, **cond: str) -> list[Any]:
    """Rows of ``table`` set on regions covering ``country`` (on GLOBAL when it is unknown)."""
    query = _zone_query(table, tuple(cond), "region", country is None)
    return read_together(uow.conn, [(query, _zone_values(country, cond))])[0]


def _zone_values(country: str | None, cond: dict[str, str]) -> dict[str, Any]:
    return {"zone_country": country, **{f"zone_{k}": v for k, v in cond.items()}}


@lru_cache(maxsize=64)
def _zone_query(table: Table, keys: tuple[str, ...], kind: str, global_zone: bool) -> Query:
    """The rows of ``table`` whose columns ``keys`` equal the values named ``zone_<key>``, set
    on zones of ``kind``: the country's own (``country``), the regions covering it or GLOBAL
    (``region``), in zone order. Built once per shape: a batch rates many requests."""
    def build(_: str) -> Any:
        query = select(table).join(zones, zones.c.code == table.c.zone_code).where(
            zones.c.kind == kind, *[table.c[k] == bindparam(f"zone_{k}") for k in keys])
        if kind == "country":
            return query.where(table.c.zone_code == bindparam("zone_country"))
        if global_zone:
            return query.where(zones.c.code == GLOBAL_ZONE).order_by(zones.c.code)
        covering = select(zc.c.zone_code).where(zc.c.country == bindparam("zone_country"))
        return query.where(zones.c.code.in_(covering)).order_by(zones.c.code)
    return Query(build)


def default_topup_limit(uow: UnitOfWork, currency: str) -> tuple[int, int]:
    """The ``(min, max)`` of one top-up where no topup_limits row applies: the operator's
    settings (``TOPUP_TOPUP_MIN``/``TOPUP_TOPUP_MAX``), else 1 minor unit to
    ``TOPUP_MAX_MAJOR`` major units. Never unlimited."""
    settings = uow.settings
    high = settings.topup_max.get(currency, TOPUP_MAX_MAJOR * 10 ** minor_units(currency))
    low = settings.topup_min.get(currency, 1)
    return max(1, low), min(max(1, low, high), MAX_AMOUNT)


def topup_limit(uow: UnitOfWork, country: str | None, currency: str) -> tuple[int, int]:
    """The ``(min, max)`` of one top-up in ``currency`` for a line in ``country``.

    The country's own limit wins; else the tightest (largest minimum, smallest maximum) of the
    regions covering it; with no country, the GLOBAL zone's limit; with none of these, the
    default of ``default_topup_limit``.
    """
    currency = check_currency(currency)
    cc = country.strip().upper() if country else None
    memo_key = ("topup_limit", cc, currency)
    if memo_key not in uow.memo:
        uow.memo[memo_key] = _topup_limit(uow, cc, currency)
    return uow.memo[memo_key]  # type: ignore[return-value]


def _topup_limit(uow: UnitOfWork, cc: str | None, currency: str) -> tuple[int, int]:
    return _limit_of(uow, cc, currency, read_together(uow.conn, _limit_reads(cc, currency)))


def topup_limit_reads(country: str | None, currency: str) -> list[tuple[Query, dict[str, Any]]]:
    """The reads ``topup_limit`` makes for ``country`` and ``currency``, to send with others
    (``read_together``); ``learn_topup_limit`` keeps their answer for the unit of work."""
    return _limit_reads(country.strip().upper() if country else None, check_currency(currency))


def learn_topup_limit(uow: UnitOfWork, country: str | None, currency: str,
                      rows: list[list[Any]]) -> None:
    """What ``topup_limit`` answers in this unit of work, from the rows of
    ``topup_limit_reads`` read in it."""
    cc, currency = country.strip().upper() if country else None, check_currency(currency)
    uow.memo[("topup_limit", cc, currency)] = _limit_of(uow, cc, currency, rows)


def _limit_reads(cc: str | None, currency: str) -> list[tuple[Query, dict[str, Any]]]:
    if cc is None:
        return [(_GLOBAL_LIMIT, {"currency": currency})]
    return [(_OWN_LIMIT, {"country": cc, "currency": currency}),
            (_REGION_LIMITS, {"country": cc, "currency": currency})]


def _limit_of(uow: UnitOfWork, cc: str | None, currency: str, rows: list[list[Any]]
              ) -> tuple[int, int]:
    if cc is not None:
        own, regions = rows
        if own:
            return int(own[0].min_amount), int(own[0].max_amount)
    else:
        (regions,) = rows
    if not regions:
        return default_topup_limit(uow, currency)
    return max(int(r.min_amount) for r in regions), min(int(r.max_amount) for r in regions)


_LIMITS = select(topup_limits).join(zones, zones.c.code == topup_limits.c.zone_code)
_OWN_LIMIT = Query(lambda _: _LIMITS.where(
    zones.c.kind == "country", topup_limits.c.zone_code == bindparam("country"),
    topup_limits.c.currency == bindparam("currency")))
_REGION_LIMITS = Query(lambda _: _LIMITS.where(
    zones.c.kind == "region", topup_limits.c.currency == bindparam("currency"),
    zones.c.code.in_(select(zc.c.zone_code).where(zc.c.country == bindparam("country")))))
_GLOBAL_LIMIT = Query(lambda _: _LIMITS.where(
    zones.c.kind == "region", topup_limits.c.currency == bindparam("currency"),
    zones.c.code == GLOBAL_ZONE))


def check_topup_amount(uow: UnitOfWork, country: str | None, money: Money) -> None:
    """Raise ``TopupOutOfLimits`` when ``money`` is outside the limits for ``country``."""
    low, high = topup_limit(uow, country, money.currency)
    if not low <= money.amount <= high:
        raise TopupOutOfLimits(
            f"a top-up must be between {Money(low, money.currency)} and "
            f"{Money(high, money.currency)}; got {money}",
            currency=money.currency, min_amount=low, max_amount=high,
        )


def set_presets(uow: UnitOfWork, currency: str, amounts: list[int]) -> None:
    """Replace the preset top-up amounts (minor units) offered in ``currency``."""
    currency = offered_currency(currency, uow.settings.currencies)
    wanted = sorted({_positive("amount", a) for a in amounts})
    uow.conn.execute(delete(topup_presets).where(topup_presets.c.currency == currency))
    if wanted:
        uow.conn.execute(
            insert(topup_presets), [{"currency": currency, "amount": a} for a in wanted]
        )


def presets(uow: UnitOfWork, currency: str) -> list[int]:
    """The preset top-up amounts (minor units) in ``currency``, ascending."""
    rows = uow.conn.execute(
        select(topup_presets.c.amount)
        .where(topup_presets.c.currency == check_currency(currency))
        .order_by(topup_presets.c.amount)
    )
    return [int(a) for a in rows.scalars()]


def _check_unit(unit: str) -> str:
    if unit not in OOB_UNITS:
        raise InvalidCatalogEntry(f"unit must be one of {OOB_UNITS}, not {unit!r}", field="unit")
    return unit


def set_oob_rate(
    uow: UnitOfWork, zone_code: str, currency: str, unit: str, rate: int, per_quantity: int
) -> None:
    """Charge ``rate`` minor units per ``per_quantity`` units used out of bundle in a zone."""
    zone_code = zone_code.strip().upper()
    zone_kind(uow, zone_code)
    currency = offered_currency(currency, uow.settings.currencies)
    keys = {"zone_code": zone_code, "currency": currency, "unit": _check_unit(unit)}
    _put(uow, oob_rates, keys, {"rate": _positive("rate", rate),
                                "per_quantity": _positive("per_quantity", per_quantity)})
    uow.memo.clear()  # rates read earlier in this unit are stale now


def oob_rate(uow: UnitOfWork, country: str, currency: str, unit: str) -> tuple[int, int] | None:
    """The ``(rate, per_quantity)`` for out-of-bundle ``unit`` in ``country``, or None.

    The country's own rate wins; else the cheapest of the regions covering it. Read once per
    unit of work (a batch rates the same few countries).
    """
    cc = country.strip().upper()
    cond = {"currency": check_currency(currency), "unit": _check_unit(unit)}
    key = ("oob_rate", cc, cond["currency"], cond["unit"])
    if key not in uow.memo:
        uow.memo[key] = _oob_rate(uow, cc, cond)
    return uow.memo[key]  # type: ignore[return-value]


def _oob_rate(uow: UnitOfWork, cc: str, cond: dict[str, str]) -> tuple[int, int] | None:
    own = _own_zone_row(uow, oob_rates, cc, **cond)
    if own is not None:
        return int(own.rate), int(own.per_quantity)
    best: tuple[int, int] | None = None
    for row in _region_rows(uow, oob_rates, cc, **cond):
        rate, per = int(row.rate), int(row.per_quantity)
        # rate/per < best_rate/best_per, cross-multiplied to stay exact
        if best is None or rate * best[1] < best[0] * per:
            best = (rate, per)
    return best


def oob_charge(rate: int, per_quantity: int, quantity: int) -> int:
    """Minor units charged for ``quantity`` units at ``rate`` per ``per_quantity``, rounded up."""
    _positive("rate", rate)
    _positive("per_quantity", per_quantity)
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise InvalidCatalogEntry(f"quantity must be a non-negative integer, not {quantity!r}")
    return -(-rate * quantity // per_quantity)
