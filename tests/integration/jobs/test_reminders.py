"""Reminders go out once per bucket and threshold; a top-up re-arms the low-balance one."""

from __future__ import annotations

from tests.factories import make_line
from topup.catalog import service as catalog
from topup.charging.service import record_usage
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.jobs.reminders import send_reminders
from topup.notifications.service import queued_for
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import lines

GB = 1024**3
MSISDN = "66811112222"


def test_each_reminder_once_per_bucket_and_threshold(catalogue: Database,
                                                     clock: FrozenClock) -> None:
    db = catalogue
    line = make_line(db, country="TH", msisdn=MSISDN)
    n = 0

    def credit(amount: int) -> None:
        nonlocal n
        n += 1
        with db.unit() as uow:
            create_order(uow, None, lines.get_line(uow, line.id), OrderRequest(
                kind="topup", method="manual", channel="api", amount=amount, reason=f"t{n}",
                confirm_duplicate=True))

    def use(quantity: int, record: str) -> None:
        with db.unit() as uow:
            record_usage(uow, record, lines.get_line(uow, line.id), "data", quantity, "TH",
                         clock.now)

    def sent() -> list[tuple[str, object]]:
        with db.unit() as uow:
            return [(m["template"], m["params"].get("percent") or m["params"].get("amount"))
                    for m in queued_for(uow, f"+{MSISDN}")
                    if m["template"] != "order_fulfilled"]

    credit(59_00)
    with db.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "TH-7D-10GB")
        create_order(uow, None, lines.get_line(uow, line.id), OrderRequest(
            kind="plan", method="wallet", channel="api", plan_id=plan.id))
    assert send_reminders(db) == 0, "10.00 CNY left is not below the floor"
    use(7 * GB, "a")
    assert send_reminders(db) == 0, "70 % used"
    use(1 * GB, "b")
    assert send_reminders(db) == 1 and send_reminders(db) == 0
    use(2 * GB + 1024, "c")  # the plan is used up; the rest comes out of the wallet
    assert send_reminders(db) == 2, "100 % used and the wallet fell below its floor"
    clock.advance(days=4, hours=1)
    assert send_reminders(db) == 1, "3 days before the end"
    clock.advance(days=2)
    assert send_reminders(db) == 1 and send_reminders(db) == 0, "1 day before the end"
    credit(20_00)
    assert send_reminders(db) == 0
    use(10 * 1024**2 * 100, "d")  # out of bundle again, below the floor: a new round
    assert send_reminders(db) == 1
    kinds = [k for k, _ in sent()]
    assert kinds == ["data_used", "data_used", "low_balance", "plan_expiring", "plan_expiring",
                     "low_balance"]
    assert [p for k, p in sent() if k == "data_used"] == [80, 100]
