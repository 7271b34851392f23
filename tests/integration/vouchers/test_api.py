"""Vouchers over HTTP: a traveller redeems onto their own line, anyone checks a serial (state
and value only), staff manage batches; every refusal is problem+json with a stable code."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from stdnum import luhn

from tests.factories import Api, make_line, make_user
from tests.integration.vouchers.conftest import ListSink, make_batch, wallet
from topup.audit.service import entries
from topup.db.uow import Database
from topup.vouchers import service as vouchers


@pytest.fixture
def shop(api: Api) -> dict:
    line = make_line(api.db, secret="4321", country="TH")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "4321"})
    assert r.status_code == 200
    staff = make_user(api.db, "admin")
    return {"line": line, "me": me, "staff": api.login(str(staff.email)), "staff_id": staff.id}


def redeem(api: Api, shop: dict, pin: str, **headers: str):
    headers = {"Idempotency-Key": uuid.uuid4().hex} | headers
    return api.client.post(f"/api/v1/lines/{shop['line'].id}/vouchers/redeem",
                           headers=shop["me"] | headers, json={"pin": pin})


def test_traveller_redeems_onto_their_own_line(api: Api, shop: dict) -> None:
    made = make_batch(api.db, count=2, face=100_00)
    r = redeem(api, shop, made.pins[0])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["credited"] == {"amount": 100_00, "currency": "CNY", "display": "100.00"}
    assert body["serial"] == made.cards[0].serial and body["plan_id"] is None
    order = api.client.get(f"/api/v1/orders/{body['order_id']}", headers=shop["me"]).json()
    assert (order["method"], order["state"]) == ("voucher", "fulfilled")
    again = redeem(api, shop, made.pins[0], **{"Accept-Language": "zh-CN"})
    assert again.status_code == 422 and again.json()["code"] == "voucher_used"
    assert again.json()["title"] == "该充值卡已被使用"
    assert wallet(api.db, shop["line"].id) == 100_00
    _, stranger = api.as_new()
    r = api.client.post(f"/api/v1/lines/{shop['line'].id}/vouchers/redeem",
                        headers=stranger | {"Idempotency-Key": "s-1"}, json={"pin": made.pins[1]})
    assert r.status_code == 404 and r.json()["code"] == "line_not_found"
    anonymous = api.client.post(f"/api/v1/lines/{shop['line'].id}/vouchers/redeem",
                                json={"pin": made.pins[1]})
    assert anonymous.status_code == 401


def test_wrong_pins_lock_with_retry_after(api: Api, shop: dict) -> None:
    made = make_batch(api.db, count=1, face=10_00)
    body = made.pins[0][:-6] + ("00000" if made.pins[0][-6:-1] != "00000" else "11111")
    bad = body + luhn.calc_check_digit(body)
    answers = [redeem(api, shop, bad) for _ in range(api.db.settings.voucher_max_failures)]
    assert {(a.status_code, a.json()["code"]) for a in answers} == {(422, "voucher_invalid")}
    locked = redeem(api, shop, made.pins[0])
    assert locked.status_code == 429 and locked.json()["code"] == "voucher_locked"
    assert int(locked.headers["Retry-After"]) > 0
    typo = redeem(api, shop, "1234 5678")
    assert typo.status_code == 429, "while locked, even typos are not looked at"


def test_public_check_reveals_state_and_value_only(api: Api, shop: dict) -> None:
    made = make_batch(api.db, count=2, face=50_00)
    vouchers.redeem(api.db, made.pins[1], shop["line"].id,
                    vouchers.RedeemContext(channel="api"))
    r = api.client.get(f"/api/v1/vouchers/{made.cards[0].serial}")
    assert r.status_code == 200
    assert r.json() == {"serial": made.cards[0].serial, "state": "active",
                        "face": {"amount": 50_00, "currency": "CNY", "display": "50.00"},
                        "plan_name": None, "plan_name_zh": None}
    spaced = made.cards[1].serial[:4] + " " + made.cards[1].serial[4:]
    used = api.client.get(f"/api/v1/vouchers/{spaced}").json()
    assert used["state"] == "used" and set(used) == {"serial", "state", "face", "plan_name",
                                                     "plan_name_zh"}
    missing = api.client.get("/api/v1/vouchers/999999999999")
    assert missing.status_code == 404 and missing.json()["code"] == "voucher_not_found"


def test_public_check_is_limited_per_address(api: Api) -> None:
    made = make_batch(api.db, count=1)
    for _ in range(api.db.settings.voucher_checks_per_ip):
        assert api.client.get(f"/api/v1/vouchers/{made.cards[0].serial}").status_code == 200
    r = api.client.get(f"/api/v1/vouchers/{made.cards[0].serial}")
    assert r.status_code == 429 and r.json()["code"] == "voucher_locked"


def test_plan_voucher_check_names_the_plan(api: Api, catalogue: Database) -> None:
    from topup.catalog.service import get_plan_by_code

    with catalogue.unit(readonly=True) as uow:
        plan = get_plan_by_code(uow, "TH-7D-10GB")
    made = make_batch(catalogue, count=1, face=None, plan_id=plan.id)
    body = api.client.get(f"/api/v1/vouchers/{made.cards[0].serial}").json()
    assert body["plan_name"] == "Thailand 7 days 10 GB" and body["plan_name_zh"] == "泰国 7天 10GB"
    assert body["face"]["amount"] == 49_00


def test_staff_manage_batches_and_every_change_is_audited(api: Api, shop: dict) -> None:
    staff = shop["staff"]
    expires = (api.db.clock() + timedelta(days=90)).isoformat()
    r = api.post("/api/v1/admin/voucher-batches", staff, json={
        "count": 4, "face_amount": 20_00, "currency": "CNY", "expires_at": expires,
        "label": "Airport kiosk"})
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["state"] == "created" and batch["generated"] == 0 and not batch["complete"]
    assert set(batch) & {"pin", "pins", "pin_hash", "cards_csv"} == set()
    early = api.post(f"/api/v1/admin/voucher-batches/{batch['id']}/activate", staff,
                     json={"distributor": "Airport Shop"})
    assert early.status_code == 409 and early.json()["code"] == "voucher_state_conflict"
    sink = ListSink()
    vouchers.generate(api.db, batch["id"], [sink], actor_id=shop["staff_id"])
    r = api.post(f"/api/v1/admin/voucher-batches/{batch['id']}/activate", staff,
                 json={"distributor": "Airport Shop"})
    assert r.status_code == 200 and r.json()["cards"] == {"active": 4}
    listing = api.client.get("/api/v1/admin/voucher-batches", headers=staff).json()
    assert [b["id"] for b in listing] == [batch["id"]]
    serials = [c.serial for c in sink.cards]
    r = api.post("/api/v1/admin/vouchers/block", staff,
                 json={"first": serials[0], "last": serials[1], "reason": "torn"})
    assert r.json() == {"cards": 2}
    card = api.client.get(f"/api/v1/admin/vouchers/{serials[0]}", headers=staff).json()
    assert card["state"] == "blocked" and "pin" not in card and "pin_hash" not in card
    assert api.post("/api/v1/admin/vouchers/unblock", staff, json={
        "first": serials[0], "last": serials[1], "reason": "ok"}).json() == {"cards": 2}
    r = api.post(f"/api/v1/admin/voucher-batches/{batch['id']}/block", staff,
                 json={"reason": "dispute"})
    assert r.json()["state"] == "frozen"
    assert redeem(api, shop, sink.cards[2].pin).json()["code"] == "voucher_blocked"
    r = api.post(f"/api/v1/admin/voucher-batches/{batch['id']}/unblock", staff,
                 json={"reason": "settled"})
    assert r.json()["state"] == "active"
    assert redeem(api, shop, sink.cards[2].pin).status_code == 201
    detail = api.client.get(f"/api/v1/admin/voucher-batches/{batch['id']}", headers=staff)
    assert detail.json()["cards"] == {"active": 3, "used": 1}
    with api.db.unit(readonly=True) as uow:
        actions = {e["action"] for e in entries(uow, limit=100)
                   if e["actor_id"] == shop["staff_id"]}
    assert {"voucher_batch.create", "voucher_batch.generate", "voucher_batch.export",
            "voucher_batch.activate", "voucher.block", "voucher.unblock",
            "voucher_batch.block", "voucher_batch.unblock"} <= actions


def test_travellers_cannot_manage_batches(api: Api, shop: dict) -> None:
    r = api.client.get("/api/v1/admin/voucher-batches", headers=shop["me"])
    assert r.status_code == 403


def test_a_redemption_needs_a_key_and_a_retry_gets_the_first_answer(api: Api, shop: dict
                                                                     ) -> None:
    made = make_batch(api.db, count=2, face=30_00)
    bare = api.client.post(f"/api/v1/lines/{shop['line'].id}/vouchers/redeem",
                           headers=shop["me"], json={"pin": made.pins[0]})
    assert bare.status_code == 400 and bare.json()["code"] == "idempotency_key_required"
    assert wallet(api.db, shop["line"].id) == 0
    first = redeem(api, shop, made.pins[0], **{"Idempotency-Key": "card-1"})
    spaced = " ".join(made.pins[0])  # the same card, typed with spaces
    again = redeem(api, shop, spaced, **{"Idempotency-Key": "card-1"})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert wallet(api.db, shop["line"].id) == 30_00
    other = redeem(api, shop, made.pins[1], **{"Idempotency-Key": "card-1"})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    assert wallet(api.db, shop["line"].id) == 30_00
    assert vouchers.public_check(api.db, made.cards[1].serial, None).state == "active"
    spec = api.client.get("/openapi.json").json()
    params = spec["paths"]["/api/v1/lines/{line_id}/vouchers/redeem"]["post"]["parameters"]
    assert "idempotency-key" in {p["name"].lower() for p in params}
