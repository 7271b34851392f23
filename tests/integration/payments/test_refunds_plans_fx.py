"""Refunds of plans bought through a provider (only while untouched) and of top-ups paid in
another currency (back in the paid currency, at the order's rate)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import SandboxShop, make_user, sandbox_shop
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.orders.refunds import NotRefundable, refund_order, refundable
from topup.orders.service import get_order, settle_payment
from topup.payments.interfaces import PaymentStatus
from topup.subscribers.lines import get_line

GB = 1024**3


def refund(s: SandboxShop, order_id: int, key: str, **body: object) -> Any:
    return s.api.post(f"/api/v1/admin/orders/{order_id}/refunds", s.staff, key=key,
                      json={"reason": "traveller cancelled the trip", **body})


def wallet(db: Database, line_id: int, currency: str = "CNY") -> tuple[int, int]:
    with db.unit() as uow:
        b = ledger.wallets(uow, line_id).get(currency)
        return (b.posted, b.available) if b else (0, 0)


def order_of(s: SandboxShop, order_id: int) -> dict[str, Any]:
    return dict(s.api.client.get(f"/api/v1/orders/{order_id}", headers=s.me).json())


def detail(s: SandboxShop) -> dict[str, Any]:
    return dict(s.api.client.get(f"/api/v1/lines/{s.line_id}", headers=s.me).json())


def buy_plan(s: SandboxShop, key: str, code: str = "TH-7D-10GB", pay: bool = True
             ) -> dict[str, Any]:
    with s.api.db.unit() as uow:
        plan = catalog.get_plan_by_code(uow, code)
    order = s.api.post("/api/v1/orders", s.me, key=key, json={
        "line_id": s.line_id, "kind": "plan", "plan_id": plan.id, "method": "sandbox",
        "confirm_duplicate": True}).json()
    if pay:
        s.pay(order)
    return order_of(s, order["id"])


@pytest.fixture
def shop(catalogue: Database) -> SandboxShop:
    return sandbox_shop(catalogue, country="TH")


def test_an_untouched_plan_is_taken_back_and_refunded(shop: SandboxShop) -> None:
    order = buy_plan(shop, "p1")
    assert order["state"] == "fulfilled" and [b["plan_code"] for b in detail(shop)["buckets"]]
    r = refund(shop, order["id"], "r1")
    assert r.status_code == 201, r.text
    assert (r.json()["amount"], r.json()["state"]) == (49_00, "succeeded")
    assert detail(shop)["buckets"] == [], "the allowances went back to supply"
    assert wallet(shop.api.db, shop.line_id) == (0, 0), "the price went to the payer"
    assert order_of(shop, order["id"])["state"] == "refunded"
    again = refund(shop, order["id"], "r2")
    assert again.status_code == 422 and again.json()["code"] == "not_refundable"
    assert refund(shop, order["id"], "r1").json()["id"] == r.json()["id"], "same key, same refund"


def test_a_used_plan_is_not_refundable(shop: SandboxShop) -> None:
    order = buy_plan(shop, "p2")
    net = shop.api.login(str(make_user(shop.api.db, "network").email))
    with shop.api.db.unit() as uow:
        iccid = get_line(uow, shop.line_id).iccid
    used = shop.api.post("/api/v1/usage", net, json={
        "record_id": "u1", "line": iccid, "unit": "data", "quantity": 1024, "country": "TH",
        "occurred_at": "2026-11-22T10:00:00Z"})
    assert used.status_code == 201, used.text
    r = refund(shop, order["id"], "r3")
    assert r.status_code == 422 and r.json()["refundable"] == 0
    assert detail(shop)["buckets"][0]["units"]["data"]["remaining"] == 10 * GB - 1024


def test_an_ended_plan_is_not_refundable(shop: SandboxShop, clock: FrozenClock) -> None:
    order = buy_plan(shop, "p4")
    clock.advance(days=8)  # past the plan's end (and the staff token's: ask the service)
    with pytest.raises(NotRefundable) as refused:
        refund_order(shop.api.db, shop.sandbox, order["id"], key="r4", reason="late",
                     actor_id=None)
    assert refused.value.extra["refundable"] == 0


def test_a_refused_plan_refund_leaves_the_price_in_the_wallet(shop: SandboxShop) -> None:
    order = buy_plan(shop, "p5", pay=False)
    with shop.api.db.unit() as uow:  # paid by a status the sandbox never recorded: it refuses
        ref = order["next_action"]["value"].rsplit("/", 1)[1]
        settle_payment(uow, f"sandbox:{ref}", PaymentStatus(ref, "succeeded", 49_00, "CNY"))
    r = refund(shop, order["id"], "r5")
    assert r.status_code == 502 and r.json()["code"] == "refund_failed"
    assert detail(shop)["buckets"] == [], "the plan stays cancelled"
    assert wallet(shop.api.db, shop.line_id) == (49_00, 49_00), "its price is the traveller's"
    assert order_of(shop, order["id"])["state"] == "fulfilled"
    with shop.api.db.unit() as uow:
        assert refundable(uow, get_order(uow, order["id"])) == 49_00, "a retry may pay it back"


def test_a_converted_topup_is_refunded_in_the_paid_currency(catalogue: Database) -> None:
    s = sandbox_shop(catalogue, currency="CNY", country="TH")
    assert s.api.client.put("/api/v1/admin/fx-rates", headers=s.staff, json={
        "base": "USD", "quote": "CNY", "rate": "7.1234"}).status_code == 204
    o = s.api.post("/api/v1/orders", s.me, key="fx", json={
        "line_id": s.line_id, "kind": "topup", "amount": 10_00, "currency": "USD",
        "method": "sandbox", "credit_currency": "CNY"}).json()
    s.pay(o)
    assert wallet(catalogue, s.line_id) == (71_23, 71_23)
    half = refund(s, o["id"], "fx1", amount=5_00)
    assert half.status_code == 201, half.text
    assert (half.json()["amount"], half.json()["currency"], half.json()["wallet_amount"]) == (
        5_00, "USD", 35_62), "35.615 CNY rounded up"
    assert wallet(catalogue, s.line_id) == (35_61, 35_61)
    rest = refund(s, o["id"], "fx2")
    assert (rest.json()["amount"], rest.json()["wallet_amount"]) == (5_00, 35_61), \
        "all of it back costs exactly what was credited"
    assert wallet(catalogue, s.line_id) == (0, 0)
    assert order_of(s, o["id"])["state"] == "refunded"
    with catalogue.unit() as uow:
        for cur in ("USD", "CNY"):
            fx = ledger.operator_account(uow, "fx", ledger.money_unit(cur), line_id=s.line_id)
            assert ledger.balance(uow, fx).posted == 0, f"the FX position in {cur} is flat"


def test_converted_refund_is_limited_by_what_is_left_in_the_wallet(catalogue: Database) -> None:
    s = sandbox_shop(catalogue, currency="CNY", country="TH")
    s.api.client.put("/api/v1/admin/fx-rates", headers=s.staff, json={
        "base": "USD", "quote": "CNY", "rate": "7"})
    o = s.api.post("/api/v1/orders", s.me, key="fx", json={
        "line_id": s.line_id, "kind": "topup", "amount": 10_00, "currency": "USD",
        "method": "sandbox", "credit_currency": "CNY"}).json()
    s.pay(o)
    buy = s.api.post("/api/v1/orders", s.me, key="plan", json={
        "line_id": s.line_id, "kind": "plan", "method": "wallet",
        "plan_id": _plan_id(catalogue, "TH-7D-10GB")})
    assert buy.status_code == 201, buy.text  # 49 CNY of the 70 spent
    r = refund(s, o["id"], "fx3", amount=4_00)
    assert r.status_code == 422 and r.json()["refundable"] == 3_00, "21 CNY is 3 USD"
    assert refund(s, o["id"], "fx4").json()["wallet_amount"] == 21_00


def _plan_id(db: Database, code: str) -> int:
    with db.unit() as uow:
        return catalog.get_plan_by_code(uow, code).id


def test_an_untouched_wallet_plan_goes_back_to_the_wallet(shop: SandboxShop) -> None:
    top = shop.api.post("/api/v1/orders", shop.me, key="t", json={
        "line_id": shop.line_id, "kind": "topup", "amount": 100_00, "method": "sandbox"}).json()
    shop.pay(top)
    bought = shop.api.post("/api/v1/orders", shop.me, key="w", json={
        "line_id": shop.line_id, "kind": "plan", "method": "wallet",
        "plan_id": _plan_id(shop.api.db, "TH-7D-10GB")}).json()
    assert wallet(shop.api.db, shop.line_id) == (51_00, 51_00)
    part = refund(shop, bought["id"], "w0", amount=10_00)
    assert part.status_code == 422, "in full or not at all"
    back = refund(shop, bought["id"], "w1")
    assert back.status_code == 201, back.text
    assert (back.json()["amount"], back.json()["provider_refund_ref"]) == (49_00, "wallet")
    assert wallet(shop.api.db, shop.line_id) == (100_00, 100_00)
    assert detail(shop)["buckets"] == [] and order_of(shop, bought["id"])["state"] == "refunded"
    assert refund(shop, bought["id"], "w1").json()["id"] == back.json()["id"]
    assert refund(shop, bought["id"], "w2").status_code == 422
    whole = refund(shop, top["id"], "t1")
    assert whole.json()["amount"] == 100_00, "now the top-up can go back whole"
