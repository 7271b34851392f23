"""A traveller in Thailand with the 30-day 20 GB plan who uses 1 GB a day: after ten days
10 GB are left, the pace is 1 GB a day, the data lasts 10 days and the plan ends in 20."""

from __future__ import annotations

from tests.factories import make_line
from topup.catalog import service as catalog
from topup.charging.service import record_usage
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import lines
from topup.subscribers.lines import Line

GB = 1024**3


def buy(db: Database, line: Line, code: str = "TH-30D-20GB") -> None:
    """Credit the plan's price to the wallet, then buy it from there."""
    with db.unit() as uow:
        plan = catalog.get_plan_by_code(uow, code)
        mine = lines.get_line(uow, line.id)
        create_order(uow, None, mine, OrderRequest(
            kind="topup", method="manual", channel="api",
            amount=max(plan.prices[mine.currency], 20_00),
            reason=f"for {code}", confirm_duplicate=True))
        create_order(uow, None, lines.get_line(uow, line.id), OrderRequest(
            kind="plan", method="wallet", channel="api", plan_id=plan.id))


def use_daily(db: Database, clock: FrozenClock, line: Line, days: int, amount: int = GB,
              tag: str = "d") -> None:
    """``amount`` of data used in Thailand on each of ``days`` days, the clock moving on a
    day after each."""
    for day in range(days):
        with db.unit() as uow:
            record_usage(uow, f"{tag}{line.id}-{day}", lines.get_line(uow, line.id), "data",
                         amount, "TH", clock.now)
        clock.advance(days=1)


def traveller(db: Database, clock: FrozenClock, *, msisdn: str | None = None,
              customer_id: int | None = None, days: int = 10) -> Line:
    """The line of the story, ``days`` days into its plan."""
    line = make_line(db, country="TH", msisdn=msisdn, secret="4321")
    if customer_id is not None:
        with db.unit() as uow:
            lines.bind(uow, customer_id, line.iccid, "4321", "127.0.0.1")
    buy(db, line)
    use_daily(db, clock, line, days)
    with db.unit() as uow:
        return lines.get_line(uow, line.id)
