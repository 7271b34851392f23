"""A refund of everything returns exactly what was paid, whatever the campaigns: random
spend-and-save tiers, promo codes (an amount or a percentage) and top-up bonuses on a top-up
paid through the sandbox, then refunded in full. The payer gets back the order's amount to the
minor unit, the wallet ends where it started, the campaigns' cost (``promotion_expense``) comes
back to what it was, and every redemption is reversed; the books balance (the ``db``
fixture). On SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from tests.conftest import START
from tests.factories import SandboxShop, make_line, sandbox_shop
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.ledger.tables import accounts
from topup.orders.tables import refunds
from topup.promotions import store
from topup.promotions.rules import Scope
from topup.promotions.tables import campaigns, redemptions

WINDOW = (START - timedelta(hours=1), START + timedelta(days=30))
TOPUPS = Scope(topups=True)

tiers = st.lists(st.tuples(st.integers(10_00, 400_00), st.integers(1_00, 9_00)), min_size=1,
                 max_size=3, unique_by=lambda t: t[0])
offers = st.fixed_dictionaries({
    "save": st.one_of(st.none(), tiers),
    "code": st.one_of(st.none(), st.integers(1_00, 30_00).map(lambda a: ("amount", a)),
                      st.integers(100, 5_000).map(lambda bp: ("percent", bp))),
    "bonus": st.one_of(st.none(), tiers),
    "amount": st.integers(50_00, 500_00),
})


def expense(db: Database) -> int:
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.coalesce(func.sum(
            accounts.c.debits_posted - accounts.c.credits_posted), 0)).where(
            accounts.c.kind == "promotion_expense")).scalar_one())


def define(db: Database, drawn: dict[str, Any]) -> str | None:
    """The drawn campaigns (ending every earlier one); the code's text if one is drawn."""
    with db.unit() as uow:
        uow.conn.execute(update(campaigns).values(state="ended"))
        if drawn["save"]:
            store.create_campaign(uow, store.CampaignSpec(
                "spend_save", "save", *WINDOW, currency="CNY", tiers=drawn["save"],
                scope=TOPUPS))
        if drawn["bonus"]:
            store.create_campaign(uow, store.CampaignSpec(
                "bonus", "bonus", *WINDOW, currency="CNY", tiers=drawn["bonus"], scope=TOPUPS))
        if drawn["code"] is None:
            return None
        how, value = drawn["code"]
        rule = {"amount_off": value} if how == "amount" else {"percent_bp": value}
        cid = store.create_campaign(uow, store.CampaignSpec(
            "code", "code", *WINDOW, currency="CNY", scope=TOPUPS, **rule))
        return store.add_code(uow, cid, f"P{uuid.uuid4().hex[:10]}")


@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(drawn=offers)
def test_a_full_refund_returns_exactly_what_was_paid(db: Database, drawn: dict[str, Any]
                                                     ) -> None:
    shop = _shop(db)
    code = define(db, drawn)
    line = make_line(db, secret="1717")
    shop.api.client.post("/api/v1/lines/bind", headers=shop.me,
                         json={"identifier": line.iccid, "secret": "1717"})
    before = expense(db)
    made = shop.api.post("/api/v1/orders", shop.me, key=uuid.uuid4().hex, json={
        "line_id": line.id, "kind": "topup", "method": "sandbox", "amount": drawn["amount"],
        **({"code": code} if code else {})})
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["quote"]["total"] == order["amount"] <= drawn["amount"]
    shop.pay(order)
    with db.unit(readonly=True) as uow:
        wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY")).posted
    bonus = sum(c["amount"] for c in order["quote"]["credits"])
    assert wallet == drawn["amount"] + bonus  # the amount asked for, and the bonus on top
    back = shop.api.post(f"/api/v1/admin/orders/{order['id']}/refunds", shop.staff,
                         key=uuid.uuid4().hex, json={"reason": "changed plans"})
    assert back.status_code == 201, back.text
    with db.unit(readonly=True) as uow:
        paid_back = uow.conn.execute(select(func.sum(refunds.c.amount)).where(
            refunds.c.order_id == order["id"], refunds.c.state == "succeeded")).scalar_one()
        wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY")).posted
        states = set(uow.conn.execute(select(redemptions.c.state).where(
            redemptions.c.order_id == order["id"])).scalars())
    assert paid_back == order["amount"], "exactly what was paid goes back"
    assert wallet == 0 and expense(db) == before
    assert states <= {"reversed"}


_SHOPS: dict[int, SandboxShop] = {}


def _shop(db: Database) -> SandboxShop:
    """One shop per test database (hypothesis calls the test many times on one)."""
    if id(db) not in _SHOPS:
        with db.unit() as uow:
            seed_catalog(uow)
        _SHOPS.clear()
        _SHOPS[id(db)] = sandbox_shop(db)
    return _SHOPS[id(db)]
