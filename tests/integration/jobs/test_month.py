"""One line's month, walked in six-hour steps with every scheduled job: reminders, a renewal
that works, one that fails, the plan ending, grace, suspension, and a top-up that brings the
line back. The books balance after (the ``db`` fixture checks)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from tests.factories import make_line
from topup.catalog import service as catalog
from topup.charging.service import record_usage
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.jobs.schedule import lifecycle_jobs, sweep
from topup.ledger import service as ledger
from topup.notifications.service import queued_for
from topup.orders import renewals
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import auth, lines

GB = 1024**3
EMAIL = "walker@example.com"


def test_a_month_in_the_life_of_a_line(catalogue: Database, clock: FrozenClock) -> None:
    db = catalogue
    db.settings = dataclasses.replace(db.settings, renew_lead_minutes=12 * 60)
    line = make_line(db, country="TH", secret="2468", msisdn="66891234567")
    with db.unit() as uow:
        user = auth.register(uow, email=EMAIL, phone=None, password="correct-horse-battery",
                             language="zh-CN")
        assert lines.bind(uow, user.id, line.iccid, "2468") is not None
        lines.set_auto_renew(uow, line.id, True)
    jobs = lifecycle_jobs({}, renewals.Payers({}, {}))
    log: list[tuple[int, str]] = []

    def day() -> int:
        return int((clock.now - start) / timedelta(days=1))

    def order(req: OrderRequest) -> None:
        with db.unit() as uow:
            create_order(uow, None, lines.get_line(uow, line.id), req)

    def use(quantity: int, record: str) -> None:
        with db.unit() as uow:
            record_usage(uow, record, lines.get_line(uow, line.id), "data", quantity, "TH",
                         clock.now)

    def status() -> str:
        with db.unit() as uow:
            return lines.get_line(uow, line.id).status

    def money() -> int:
        with db.unit() as uow:
            return ledger.wallets(uow, line.id)["CNY"].available

    start = clock.now
    order(OrderRequest(kind="topup", method="manual", channel="api", amount=100_00,
                       reason="first top-up"))
    with db.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "TH-7D-10GB")
    order(OrderRequest(kind="plan", method="wallet", channel="api", plan_id=plan.id))
    seen: list[str] = []
    while clock.now < start + timedelta(days=30):
        clock.advance(hours=6)
        if clock.now == start + timedelta(days=2):
            use(int(8.5 * GB), "day-2")
        if clock.now == start + timedelta(days=14, hours=12):
            use(3 * GB, "day-14")  # no plan any more: the wallet pays out of bundle
        if clock.now == start + timedelta(days=25):
            order(OrderRequest(kind="topup", method="manual", channel="api", amount=60_00,
                               reason="back from the trip"))
        sweep(db, jobs)
        if not seen or seen[-1] != status():
            seen.append(status())
            log.append((day(), status()))
        with db.unit() as uow:
            for m in queued_for(uow, EMAIL)[len([x for x in log if x[1].startswith("@")]):]:
                log.append((day(), "@" + m["template"]))
    mails = [what[1:] for _, what in log if what.startswith("@")]
    assert mails.count("order_fulfilled") == 4, "two top-ups, a plan bought, one renewed"
    mails = [m for m in mails if m != "order_fulfilled"]
    # 8.5 GB of 10 on day 2: at that pace the rest lasts less than a day (data_forecast)
    assert mails[:5] == ["data_used", "data_forecast", "renewal_upcoming", "low_balance",
                         "renewal_upcoming"]
    assert mails.count("line_grace") == 1 and mails.count("line_suspending") == 1
    assert mails.count("renewal_failed") >= 1 and mails.count("renewal_given_up") == 1
    assert seen == ["active", "grace", "suspended", "active"], log
    with db.unit() as uow:
        assert {m["language"] for m in queued_for(uow, EMAIL)} == {"zh-CN"}
        rows = [r.state for r in uow.conn.execute(renewals.renewals.select()).all()]
    assert sorted(rows) == ["given_up", "renewed"], "one renewal worked, the next failed"
    assert money() == 60_00
    grace_day = next(d for d, s in log if s == "grace")
    suspended_day = next(d for d, s in log if s == "suspended")
    assert suspended_day - grace_day == db.settings.grace_days
