"""What was sold, per UTC day: the figures behind the console's dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from topup.db.dialect import utc_day
from topup.db.uow import UnitOfWork
from topup.orders.tables import orders

SOLD = ("fulfilled", "refunded")  # paid and delivered (a refund is booked on its own)


@dataclass(frozen=True)
class DaySales:
    """Orders of one kind sold on one day through one channel and method, in one currency."""

    day: str  # YYYY-MM-DD (UTC)
    kind: str
    channel: str
    method: str
    currency: str
    count: int
    amount: int  # minor units: the value bought (top-up credit or plan price)
    fee: int


def daily_sales(uow: UnitOfWork, since: datetime) -> list[DaySales]:
    """Orders delivered since ``since``, summed per UTC day of payment, kind, channel, method
    and currency (oldest day first)."""
    day = utc_day(uow, orders.c.paid_at)
    rows = uow.conn.execute(
        select(day.label("day"), orders.c.kind, orders.c.channel, orders.c.method,
               orders.c.currency, func.count().label("n"), func.sum(orders.c.amount),
               func.sum(orders.c.fee))
        .where(orders.c.state.in_(SOLD), orders.c.paid_at >= since)
        .group_by(day, orders.c.kind, orders.c.channel, orders.c.method, orders.c.currency)
        .order_by(day))
    return [DaySales(str(r[0]), r.kind, r.channel, r.method, r.currency, int(r.n), int(r[6]),
                     int(r[7])) for r in rows]
