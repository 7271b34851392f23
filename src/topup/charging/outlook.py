"""A line's data outlook: the forecast of ``forecast.py`` on the line's own figures, and what
to buy when the data runs out before the plan ends.

The figures: the data left in the line's live plans (what open charging sessions hold is
already out of it), its use per UTC day from usage records, the day its earliest live plan
began and the day its last one ends (the data left can be used until then at most). The
country is where the line used data last (else its home country).

The suggestion, when the data runs out first: the cheapest plan on sale for that country, in
the line's currency, whose data covers the shortfall, priced by the one price service
(``catalog.quotes.price``, with the campaigns that apply to this customer); or, when it costs
less, paying for the shortfall at the country's out-of-bundle rate: a top-up of what the
wallet lacks for it (at least the country's smallest top-up), or nothing to buy when the
wallet already holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from topup.catalog import service as catalog
from topup.catalog.pricing import oob_charge, oob_rate, topup_limit
from topup.catalog.quotes import price
from topup.charging.buckets import line_buckets
from topup.charging.forecast import RUNS_OUT_FIRST, WINDOW, Forecast, forecast
from topup.charging.service import daily_totals
from topup.charging.tables import bucket_units, buckets, usage_records
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.money import Money
from topup.subscribers.lines import Line

PLAN, TOPUP, COVERED = "plan", "topup", "covered"


@dataclass(frozen=True)
class Suggestion:
    """What to buy: a ``plan`` (its id, names and data), a ``topup`` of ``price``, or
    nothing (``covered``: the wallet already pays the shortfall out of bundle, ``price`` is
    what that use will cost)."""

    kind: str
    price: Money
    plan_id: int | None = None
    plan_code: str | None = None
    plan_en: str | None = None
    plan_zh: str | None = None
    data_bytes: int | None = None

    def plan_name(self, lang: str) -> str | None:
        """The suggested plan's name in ``lang``."""
        return self.plan_zh if lang.lower().startswith("zh") else self.plan_en


@dataclass(frozen=True)
class Outlook:
    """The line's forecast, the country it was made for and the suggestion (if any)."""

    forecast: Forecast
    country: str | None
    suggestion: Suggestion | None
    subject: int | None  # the live data plan (bucket) that ends last: what a reminder is about


def _country(uow: UnitOfWork, line: Line) -> str | None:
    last = uow.conn.execute(select(usage_records.c.country).where(
        usage_records.c.line_id == line.id, usage_records.c.unit == "data")
        .order_by(usage_records.c.id.desc()).limit(1)).scalar()
    return str(last) if last else line.home_country


def line_outlook(uow: UnitOfWork, line: Line, channel: str) -> Outlook:
    """The data outlook of ``line`` at ``uow.now``; ``channel`` prices the suggestion as the
    channel asking would sell it."""
    data = [b for b in line_buckets(uow, line.id) if "data" in b.units]
    remaining = sum(b.units["data"]["remaining"] for b in data)
    started = min((b.valid_from for b in data if b.valid_from), default=None)
    ends = max((b.expires_at for b in data if b.expires_at), default=None)
    last = max(data, key=lambda b: (b.expires_at is not None, b.expires_at, b.id), default=None)
    daily = daily_totals(uow, line.id, "data", uow.now - timedelta(days=WINDOW + 1), UTC)
    result = forecast(daily, remaining, uow.now, started=started.date() if started else None,
                      ends_at=ends, has_plan=bool(data))
    country = _country(uow, line)
    wanted = (suggest(uow, line, country, result.shortfall, channel)
              if result.state == RUNS_OUT_FIRST and country else None)
    return Outlook(result, country, wanted, last.id if last else None)


def suggest(uow: UnitOfWork, line: Line, country: str, shortfall: int, channel: str
            ) -> Suggestion | None:
    """The cheaper of the best plan and the out-of-bundle top-up for ``shortfall`` bytes in
    ``country``; None when neither is on offer."""
    plan = _best_plan(uow, line, country, shortfall, channel)
    oob = _out_of_bundle(uow, line, country, shortfall, channel)
    if plan is None or (oob is not None and oob[0].amount < plan.price.amount):
        return oob[1] if oob else None
    return plan


def _best_plan(uow: UnitOfWork, line: Line, country: str, shortfall: int, channel: str
               ) -> Suggestion | None:
    best: Suggestion | None = None
    for plan in catalog.list_plans(uow, country=country, currency=line.currency,
                                   on_sale_at=uow.now):
        if plan.data_bytes < shortfall:
            continue
        try:
            quote = price(uow, plan, line.currency, uow.now, channel, customer=line.customer_id)
        except TopupError:  # off sale for this customer or channel: not a suggestion
            continue
        total = quote.money(quote.total)
        if best is None or (total.amount, plan.data_bytes) < (best.price.amount,
                                                              best.data_bytes or 0):
            best = Suggestion(PLAN, total, plan.id, plan.code, plan.name_en, plan.name_zh,
                              plan.data_bytes)
    return best


def _out_of_bundle(uow: UnitOfWork, line: Line, country: str, shortfall: int, channel: str
                   ) -> tuple[Money, Suggestion] | None:
    """What the shortfall costs out of bundle, and the top-up (or none) that pays it."""
    rate = oob_rate(uow, country, line.currency, "data")
    if rate is None:
        return None
    cost = Money(oob_charge(rate[0], rate[1], shortfall), line.currency)
    wallet = ledger.wallets(uow, line.id).get(line.currency)
    lacking = cost.amount - (wallet.available if wallet else 0)
    if lacking <= 0:
        return cost, Suggestion(COVERED, cost)
    low, high = topup_limit(uow, country, line.currency)
    if lacking > high:
        return None  # more than one top-up may be: a plan is the sensible answer
    try:
        quote = price(uow, max(lacking, low), line.currency, uow.now, channel,
                      customer=line.customer_id, offers="bonus")
    except TopupError:
        return None
    return cost, Suggestion(TOPUP, quote.money(quote.total))


def lines_using_data(uow: UnitOfWork, since: datetime, skip: Select[Any], after: int,
                     limit: int) -> list[int]:
    """Ids above ``after`` of lines that used data since ``since`` and hold a live bucket
    with data none of whose live buckets is in ``skip`` (bucket ids), ascending."""
    told = select(buckets.c.line_id).where(buckets.c.state == "active",
                                           buckets.c.id.in_(skip))
    live = select(buckets.c.line_id).join(
        bucket_units, bucket_units.c.bucket_id == buckets.c.id).where(
        buckets.c.state == "active", bucket_units.c.unit == "data",
        buckets.c.expires_at.is_(None) | (buckets.c.expires_at > uow.now))
    rows = uow.conn.execute(
        select(usage_records.c.line_id).distinct().where(
            usage_records.c.line_id > after, usage_records.c.unit == "data",
            usage_records.c.occurred_at >= since, usage_records.c.line_id.in_(live),
            usage_records.c.line_id.not_in(told))
        .order_by(usage_records.c.line_id).limit(limit))
    return [int(i) for i in rows.scalars()]
