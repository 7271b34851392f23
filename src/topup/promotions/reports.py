"""What a campaign did, for the console's report: its redemptions by state, what its applied
redemptions cost, what the orders that applied them brought in, redemptions per UTC day; and
its promo codes, for the list of shared codes and the export of a batch.

Cost and revenue are summed per currency (a campaign without a currency of its own applies in
every one). Revenue is the ``amount`` of each order that applied the campaign (what the order
bought, in the order's currency), counted once per order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select

from topup.db.dialect import utc_day
from topup.db.uow import UnitOfWork
from topup.orders.tables import orders
from topup.promotions.tables import REDEMPTION_STATES, promo_codes, redemptions


@dataclass(frozen=True)
class Report:
    """A campaign's uptake (redemptions per state), cost and revenue (minor units per
    currency) and the number of orders that applied it."""

    states: dict[str, int] = field(default_factory=dict)
    cost: dict[str, int] = field(default_factory=dict)
    revenue: dict[str, int] = field(default_factory=dict)
    orders: int = 0

    @property
    def redemptions(self) -> int:
        return sum(self.states.values())


@dataclass(frozen=True)
class Code:
    """One promo code of a campaign (``max_uses`` 1: a single-use code of a batch)."""

    code: str
    max_uses: int | None
    uses: int
    created_at: datetime


def report(uow: UnitOfWork, campaign_id: int) -> Report:
    """Uptake, cost and revenue of the campaign (every state listed, zeros included)."""
    states = dict.fromkeys(REDEMPTION_STATES, 0)
    for state, n in uow.conn.execute(
            select(redemptions.c.state, func.count()).where(
                redemptions.c.campaign_id == campaign_id).group_by(redemptions.c.state)):
        states[str(state)] = int(n)
    applied = (redemptions.c.campaign_id == campaign_id) & (redemptions.c.state == "applied")
    cost = {str(c): int(a) for c, a in uow.conn.execute(
        select(redemptions.c.currency, func.sum(redemptions.c.amount)).where(applied)
        .group_by(redemptions.c.currency).order_by(redemptions.c.currency))}
    # one redemption per order and campaign (a unique key), so no order is summed twice
    revenue: dict[str, int] = {}
    count = 0
    for currency, amount, n in uow.conn.execute(
            select(orders.c.currency, func.sum(orders.c.amount), func.count())
            .select_from(redemptions.join(orders, orders.c.id == redemptions.c.order_id))
            .where(applied).group_by(orders.c.currency).order_by(orders.c.currency)):
        revenue[str(currency)] = int(amount)
        count += int(n)
    return Report(states, cost, revenue, count)


def per_day(uow: UnitOfWork, campaign_id: int, since: datetime) -> dict[str, dict[str, int]]:
    """Redemptions made since ``since``, per state they are in now: state → UTC day
    (YYYY-MM-DD) → count."""
    day = utc_day(uow, redemptions.c.created_at)
    out: dict[str, dict[str, int]] = {}
    for d, state, n in uow.conn.execute(
            select(day, redemptions.c.state, func.count())
            .where(redemptions.c.campaign_id == campaign_id,
                   redemptions.c.created_at >= since)
            .group_by(day, redemptions.c.state).order_by(day)):
        out.setdefault(str(state), {})[str(d)] = int(n)
    return out


def code_counts(uow: UnitOfWork, campaign_id: int) -> tuple[int, int, int]:
    """How many codes the campaign has, how many of them are single-use, and how many
    single-use ones are used up."""
    single = promo_codes.c.max_uses == 1
    row = uow.conn.execute(select(
        func.count(),
        func.coalesce(func.sum(_flag(single)), 0),
        func.coalesce(func.sum(_flag(single & (promo_codes.c.uses >= 1))), 0),
    ).where(promo_codes.c.campaign_id == campaign_id)).one()
    return int(row[0]), int(row[1]), int(row[2])


def shared_codes(uow: UnitOfWork, campaign_id: int, limit: int = 100) -> list[Code]:
    """The campaign's shared codes (any but single-use ones), oldest first."""
    query = select(promo_codes).where(
        promo_codes.c.campaign_id == campaign_id,
        promo_codes.c.max_uses.is_(None) | (promo_codes.c.max_uses != 1),
    ).order_by(promo_codes.c.id).limit(limit)
    return [_code(r) for r in uow.conn.execute(query)]


def codes(uow: UnitOfWork, campaign_id: int) -> list[Code]:
    """Every code of the campaign, in the order made."""
    query = select(promo_codes).where(promo_codes.c.campaign_id == campaign_id)
    return [_code(r) for r in uow.conn.execute(query.order_by(promo_codes.c.id))]


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


def _code(row: Any) -> Code:
    return Code(str(row.code), row.max_uses, int(row.uses), row.created_at)
