"""Refunds of provider-paid top-ups: reserved in the ledger, paid back by the provider, posted
or released; never more than is left in the wallet; once per key."""

from __future__ import annotations

import pytest

from tests.factories import Api, sandbox_shop
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.orders.service import settle_payment
from topup.payments.interfaces import PaymentStatus


@pytest.fixture
def paid(catalogue: Database) -> tuple[Api, dict, dict, int]:
    s = sandbox_shop(catalogue)
    order = s.api.post("/api/v1/orders", s.me, key="o1", json={
        "line_id": s.line_id, "kind": "topup", "amount": 100_00, "method": "sandbox"}).json()
    s.pay(order)
    return s.api, s.staff, order, s.line_id


def wallet(db: Database, line_id: int) -> tuple[int, int]:
    with db.unit() as uow:
        b = ledger.wallets(uow, line_id)["CNY"]
        return b.posted, b.available


def refund(api: Api, staff: dict, order_id: int, key: str, **body: object) -> object:
    return api.post(f"/api/v1/admin/orders/{order_id}/refunds", staff, key=key,
                    json={"reason": "traveller cancelled the trip", **body})


def test_partial_then_full_refund_through_the_sandbox(paid: tuple[Api, dict, dict, int]) -> None:
    api, staff, order, line_id = paid
    r = refund(api, staff, order["id"], "r1", amount=30_00)
    assert r.status_code == 201 and r.json()["state"] == "succeeded"
    assert refund(api, staff, order["id"], "r1", amount=30_00).json()["id"] == r.json()["id"]
    assert wallet(api.db, line_id) == (70_00, 70_00)
    too_much = refund(api, staff, order["id"], "r2", amount=80_00)
    assert too_much.status_code == 422 and too_much.json()["code"] == "not_refundable"
    rest = refund(api, staff, order["id"], "r3")
    assert rest.status_code == 201 and rest.json()["amount"] == 70_00
    assert wallet(api.db, line_id) == (0, 0)
    states = api.client.get(f"/api/v1/admin/orders/{order['id']}/refunds", headers=staff).json()
    assert [x["state"] for x in states] == ["succeeded", "succeeded"]
    assert api.client.get(f"/api/v1/orders/{order['id']}",
                          headers=staff).json()["state"] == "refunded"


def test_spent_money_is_not_refundable(paid: tuple[Api, dict, dict, int]) -> None:
    api, staff, order, line_id = paid
    with api.db.unit() as uow:
        ledger.transfer(uow, "spend", ledger.wallet(uow, line_id, "CNY"),
                        ledger.operator_account(uow, "revenue_usage", "money:CNY"), 90_00,
                        code="usage")
    r = refund(api, staff, order["id"], "r4", amount=20_00)
    assert r.status_code == 422 and r.json()["refundable"] == 10_00


def test_provider_refusal_releases_the_reserved_money(catalogue: Database) -> None:
    s = sandbox_shop(catalogue, secret="1618")
    api, me, staff = s.api, s.me, s.staff
    order = api.post("/api/v1/orders", me, key="o2", json={
        "line_id": s.line_id, "kind": "topup", "amount": 50_00, "method": "sandbox"}).json()
    with catalogue.unit() as uow:  # paid by a status the sandbox itself never recorded
        ref = order["next_action"]["value"].rsplit("/", 1)[1]
        settle_payment(uow, f"sandbox:{ref}", PaymentStatus(ref, "succeeded", 50_00, "CNY"))
    r = refund(api, staff, order["id"], "r5", amount=10_00)
    assert r.status_code == 502 and r.json()["code"] == "refund_failed"
    assert wallet(catalogue, s.line_id) == (50_00, 50_00)
    states = api.client.get(f"/api/v1/admin/orders/{order['id']}/refunds", headers=staff).json()
    assert [x["state"] for x in states] == ["failed"]


def test_wallet_and_manual_orders_are_not_refundable_here(paid: tuple[Api, dict, dict, int]
                                                          ) -> None:
    api, staff, _, line_id = paid
    credit = api.post(f"/api/v1/admin/lines/{line_id}/credit", staff, key="c", json={
        "amount": 10_00, "reason": "goodwill"}).json()
    r = refund(api, staff, credit["id"], "r6")
    assert r.status_code == 422
    assert refund(api, staff, credit["id"], "", amount=1).status_code == 400
