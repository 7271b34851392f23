"""Orders over the API: Idempotency-Key semantics, duplicate guard, limits, wallet purchases,
manual credit rules, and the immutability of a submitted order."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy.exc
from sqlalchemy import select, text

from tests.factories import Api, make_line, make_user
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.orders.tables import order_events


@pytest.fixture
def world(api: Api, catalogue: Database) -> dict:
    line = make_line(catalogue, secret="7777", country="TH", currency="CNY")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "7777"})
    admin = make_user(catalogue, "admin")
    return {"line": line, "me": me, "staff": api.login(str(admin.email))}


def credit(api: Api, world: dict, key: str, amount: int = 100_00, **extra: object) -> object:
    return api.post(f"/api/v1/admin/lines/{world['line'].id}/credit", world["staff"], key=key,
                    json={"amount": amount, "currency": "CNY", "reason": "cash desk", **extra})


def wallet(db: Database, line_id: int) -> int:
    with db.unit() as uow:
        found = ledger.wallets(uow, line_id).get("CNY")
        return found.posted if found else 0


def test_idempotency_key_required_replayed_and_guarded(api: Api, world: dict) -> None:
    r = api.post(f"/api/v1/admin/lines/{world['line'].id}/credit", world["staff"],
                 json={"amount": 100, "reason": "cash desk"})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    first = credit(api, world, "k-1")
    again = credit(api, world, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert wallet(api.db, world["line"].id) == 100_00
    other = credit(api, world, "k-1", amount=200_00)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert wallet(api.db, world["line"].id) == 100_00


def test_racing_retries_with_one_key_move_value_once(api: Api, world: dict) -> None:
    results: list[int] = []

    def go() -> None:
        results.append(credit(api, world, "race-key").status_code)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 8
    assert wallet(api.db, world["line"].id) == 100_00


def test_second_identical_topup_needs_confirmation(api: Api, world: dict, clock) -> None:
    assert credit(api, world, "a").status_code == 201
    dup = credit(api, world, "b")
    assert dup.status_code == 409 and dup.json()["code"] == "duplicate_suspected"
    assert "order_id" in dup.json()
    assert credit(api, world, "c", confirm_duplicate=True).status_code == 201
    clock.advance(minutes=6)
    assert credit(api, world, "d").status_code == 201
    assert wallet(api.db, world["line"].id) == 300_00


def test_topup_limits_per_country(api: Api, world: dict) -> None:
    r = credit(api, world, "big", amount=999_999_00)
    assert r.status_code == 422 and r.json()["code"] == "topup_out_of_limits"
    assert wallet(api.db, world["line"].id) == 0


def test_manual_credit_needs_a_reason_and_the_admin_role(api: Api, world: dict) -> None:
    r = api.post(f"/api/v1/admin/lines/{world['line'].id}/credit", world["staff"], key="x",
                 json={"amount": 100, "reason": "  "})
    assert r.status_code == 422
    r = api.post(f"/api/v1/admin/lines/{world['line'].id}/credit", world["me"], key="y",
                 json={"amount": 100, "reason": "please"})
    assert r.status_code == 403


def test_wallet_purchase_with_too_little_money_changes_nothing(api: Api, world: dict) -> None:
    plans = api.client.get("/api/v1/plans", params={"country": "TH", "currency": "CNY"}).json()
    plan = max(plans, key=lambda p: p["prices"]["CNY"])
    credit(api, world, "small", amount=10_00)
    r = api.post("/api/v1/orders", world["me"], key="buy", json={
        "line_id": world["line"].id, "kind": "plan", "plan_id": plan["id"], "method": "wallet"})
    assert r.status_code == 402 and r.json()["code"] == "insufficient_funds"
    orders = api.client.get(f"/api/v1/lines/{world['line'].id}/orders",
                            headers=world["me"]).json()["items"]
    assert [o["kind"] for o in orders] == ["topup"], "no half-made order is left behind"
    assert wallet(api.db, world["line"].id) == 10_00


def test_unconfigured_payment_method_is_refused(api: Api, world: dict) -> None:
    r = api.post("/api/v1/orders", world["me"], key="card", json={
        "line_id": world["line"].id, "kind": "topup", "amount": 100_00, "method": "stripe"})
    assert r.status_code == 422 and r.json()["code"] == "payment_method_unavailable"
    r = api.post("/api/v1/orders", world["me"], key="w", json={
        "line_id": world["line"].id, "kind": "topup", "amount": 100_00, "method": "wallet"})
    assert r.status_code == 422 and r.json()["code"] == "payment_method_unavailable"


def test_a_manual_credit_keeps_one_event_for_its_one_transaction(api: Api, world: dict
                                                                ) -> None:
    order = credit(api, world, "history").json()
    with api.db.unit(readonly=True) as uow:
        history = uow.conn.execute(select(
            order_events.c.from_state, order_events.c.to_state, order_events.c.note).where(
            order_events.c.order_id == order["id"])).all()
    assert [tuple(e) for e in history] == [(None, "fulfilled", "manual_credit")]


def test_order_read_back_only_by_its_owner(api: Api, world: dict) -> None:
    order = credit(api, world, "mine").json()
    assert api.client.get(f"/api/v1/orders/{order['id']}",
                          headers=world["me"]).json()["state"] == "fulfilled"
    _, stranger = api.as_new()
    assert api.client.get(f"/api/v1/orders/{order['id']}", headers=stranger).status_code == 404


def test_submitted_order_terms_are_immutable_in_the_schema(api: Api, world: dict) -> None:
    order = credit(api, world, "imm").json()
    with pytest.raises(sqlalchemy.exc.DBAPIError), api.db.unit() as uow:
        uow.conn.execute(text("UPDATE orders SET amount = 1 WHERE id = :id"), {"id": order["id"]})
    with api.db.unit() as uow:
        uow.conn.execute(text("UPDATE orders SET channel = 'api' WHERE id = :id"),
                         {"id": order["id"]})


def test_a_quote_refuses_a_method_the_order_refuses(api: Api, world: dict) -> None:
    body = {"line_id": world["line"].id, "kind": "topup", "amount": 100_00}
    for method in ("bitcoin", "wallet", "manual"):
        quoted = api.client.post("/api/v1/orders/quote", headers=world["me"],
                                 json={**body, "method": method})
        ordered = api.post("/api/v1/orders", world["me"], key=f"q-{method}",
                           json={**body, "method": method})
        assert quoted.status_code == ordered.status_code == 422, (method, quoted.text)
        assert quoted.json()["code"] == ordered.json()["code"]
        assert quoted.json()["code"] == (
            "invalid_order" if method == "manual" else "payment_method_unavailable")
    assert wallet(api.db, world["line"].id) == 0
