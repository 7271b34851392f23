"""The chart of accounts against a real database: after the demo data and the main flows —
a card top-up paid in another currency, one with a fee, a plan from the wallet, usage in and
out of the plan, a refund, a voucher, a sale at the agent's counter, plans and vouchers that
end unused — every account kind in ``ledger_accounts`` is in the chart, each account keeps
the chart's overdraft rule, the books balance, and the operator's dashboard still renders."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.factories import Api
from tests.integration.admin.conftest import sign_in_as
from tests.integration.vouchers.conftest import make_batch
from topup.catalog import service as catalog
from topup.charging.service import record_usage
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.demo.seed import ADMIN, AGENT, CUSTOMER, seed_demo
from topup.jobs.lifecycle import expire_buckets
from topup.ledger import accounts as chart
from topup.ledger.invariants import check_books
from topup.ledger.tables import accounts
from topup.payments.providers.sandbox import SandboxProvider
from topup.subscribers.lines import get_line
from topup.vouchers import service as vouchers
from topup.vouchers.sales import expire_vouchers

MIB = 1024**2


class World:
    """The demo operator, its bound CNY line and an API paying through the sandbox."""

    def __init__(self, db: Database) -> None:
        with db.unit() as uow:
            seeded: dict[str, Any] = seed_demo(uow)
        self.db = db
        self.line = seeded["lines"][0][1]  # the traveller's bound CNY line in China
        self.api = Api(db, {"sandbox": SandboxProvider(db, db.settings.secret_key,
                                                       "http://testserver")})
        self.me = self.api.login(*CUSTOMER)
        self.staff = self.api.login(*ADMIN)

    def order(self, key: str, **body: Any) -> dict[str, Any]:
        r = self.api.post("/api/v1/orders", self.me, key=key,
                          json={"line_id": self.line.id, "confirm_duplicate": True, **body})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def paid(self, key: str, **body: Any) -> dict[str, Any]:
        """An order paid on the sandbox's page, as the payer would."""
        order = self.order(key, method="sandbox", **body)
        ref = str(order["next_action"]["value"]).rsplit("/", 1)[1]
        self.api.client.post(f"/sandbox/pay/{ref}/approve")
        return order

    def use(self, record_id: str, quantity: int, country: str) -> None:
        with self.db.unit() as uow:
            record_usage(uow, record_id, get_line(uow, self.line.id), "data", quantity,
                         country, uow.now)


def run_main_flows(w: World, clock: FrozenClock) -> None:
    w.paid("fx", kind="topup", amount=10_00, currency="USD", credit_currency="CNY")
    r = w.api.client.put("/api/v1/admin/fees", headers=w.staff, json={
        "channel": "api", "method": "sandbox", "currency": "CNY", "fixed": 1_00, "rate_bp": 0})
    assert r.status_code == 204, r.text
    card = w.paid("card", kind="topup", amount=50_00)
    r = w.api.post(f"/api/v1/admin/orders/{card['id']}/refunds", w.staff, key="refund-1",
                   json={"reason": "paid twice", "amount": 20_00})
    assert r.status_code == 201 and r.json()["state"] == "succeeded", r.text
    with w.db.unit(readonly=True) as uow:
        plan = catalog.get_plan_by_code(uow, "CN-7D-10GB")
    w.order("plan", kind="plan", plan_id=plan.id, method="wallet")
    w.use("walk-cn-1", 100 * MIB, "CN")  # from the plan
    w.use("walk-jp-1", 1 * MIB, "JP")  # no plan covers Japan: from the wallet
    made = make_batch(w.db, count=2, face=20_00)
    vouchers.redeem(w.db, made.pins[0], w.line.id, vouchers.RedeemContext(channel="api"))
    pos = w.api.login(*AGENT)
    r = w.api.post("/api/v1/pos/topups", pos, key="till-1",
                   json={"line": w.line.msisdn, "amount": 30_00})
    assert r.status_code == 201, r.text
    clock.advance(days=400)  # the plan ends, the other card expires unused
    assert expire_buckets(w.db) == 1
    with w.db.unit() as uow:
        assert expire_vouchers(uow) == 1


def test_every_account_kind_after_the_demo_and_the_main_flows_is_in_the_chart(
        db: Database, clock: FrozenClock) -> None:
    w = World(db)
    run_main_flows(w, clock)
    with db.unit(readonly=True) as uow:
        rows = uow.conn.execute(select(accounts.c.kind, accounts.c.unit,
                                       accounts.c.no_overdraft).distinct()).all()
        assert check_books(uow.conn) == []  # also: every kind in the chart, as it says
    for kind, _, no_overdraft in rows:
        entry = chart.entry(kind)  # raises UnknownAccountKind for a stray kind
        assert no_overdraft == (not entry.may_go_negative), kind
    found = {kind for kind, _, _ in rows}
    booked = {k.name for k in chart.CHART.values() if not k.reserved and not k.per_method}
    assert booked - found == {"unallocated", "promotion_expense"}, \
        "the flows reach every booked kind but the two rare ones"
    assert {"clearing:sandbox", "clearing:voucher"} <= found
    assert not {k for k in found if chart.entry(k).reserved}, "nothing books to these yet"
    assert {chart.group_of(k, u) for k, u, _ in rows} == {
        "asset", "liability", "equity", "revenue", "expense", "memo"}
    page = sign_in_as(db, "finance").get("/admin")
    assert page.status_code == 200, page.text[:300]
