"""Terminals over the wire: a correctly signed request is served; a bad signature, an altered
body, a stale timestamp, a replayed nonce, an unknown key or a disabled terminal are refused
and move nothing; a terminal's daily reconciliation matches what it sold."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from tests.integration.agents.conftest import TIER_BP, Counter, Kiosk, make_kiosk
from topup.clock import FrozenClock
from topup.subscribers.lines import Line

SALE = {"msisdn": "+85261234567", "amount": 50_00, "tender": "cash"}


@pytest.fixture
def kiosk(counter: Counter) -> Kiosk:
    operator = counter.agent("Airport Kiosks Ltd", kind="kiosk_operator")
    counter.fund(operator, 200_00)
    return make_kiosk(counter, operator)


def raw_post(kiosk: Kiosk, body: bytes, headers: dict[str, str]) -> object:
    return kiosk.api.client.post("/api/v1/terminal/topups", content=body, headers=headers)


def test_a_signed_topup_is_served(counter: Counter, kiosk: Kiosk, line: Line) -> None:
    r = kiosk.post("/topups", SALE)
    assert r.status_code == 201, r.text
    sale = r.json()
    assert (sale["terminal_id"], sale["tender"], sale["order_state"]) == (
        kiosk.terminal_id, "cash", "fulfilled")
    assert counter.wallet(line.id) == 50_00
    order = counter.api.client.get(f"/api/v1/orders/{sale['order_id']}",
                                   headers=counter.staff).json()
    assert order["channel"] == "kiosk"
    me = kiosk.get("/me")
    assert me.status_code == 200
    assert me.json()["float_balance"]["amount"] == 200_00 - 50_00 + 50_00 * TIER_BP // 10000


def test_refused_requests_move_nothing(counter: Counter, kiosk: Kiosk, line: Line) -> None:
    before = counter.transfers()
    body = json.dumps(SALE).encode()
    target = "/api/v1/terminal/topups"
    good = kiosk.headers("POST", target, body, key="k1")
    cases = {
        "bad signature": (body, good | {"X-Signature": "0" * 64}, 401, "signature_invalid"),
        "altered body": (body.replace(b"5000", b"9000"), good, 401, "signature_invalid"),
        "other secret": (body, kiosk.headers("POST", target, body, key="k1") | {
            "X-Signature": Kiosk(kiosk.api, 0, kiosk.key_id, "not-the-secret", kiosk.now)
            .headers("POST", target, body)["X-Signature"]}, 401, "signature_invalid"),
        "unknown key": (body, good | {"X-Terminal-Key": "tk_0000000000000000"}, 401,
                        "signature_invalid"),
        "no signature": (body, {k: v for k, v in good.items() if k != "X-Signature"}, 401,
                         "signature_invalid"),
        "short nonce": (body, kiosk.headers("POST", target, body, nonce="abc"), 401,
                        "signature_invalid"),
        "stale": (body, kiosk.headers("POST", target, body, ts=kiosk.now() - 301), 401,
                  "timestamp_out_of_window"),
        "from the future": (body, kiosk.headers("POST", target, body, ts=kiosk.now() + 301),
                            401, "timestamp_out_of_window"),
    }
    for name, (payload, headers, status, code) in cases.items():
        r = kiosk.api.client.post(target, content=payload, headers=headers)
        assert (r.status_code, r.json()["code"]) == (status, code), name
        assert r.headers["content-type"] == "application/problem+json", name
    assert counter.transfers() == before and counter.wallet(line.id) == 0
    edge = kiosk.headers("POST", target, body, ts=kiosk.now() - 300, key="edge")
    assert kiosk.api.client.post(target, content=body, headers=edge).status_code == 201


def test_a_replayed_nonce_is_refused_even_after_a_refusal(counter: Counter, kiosk: Kiosk,
                                                          line: Line) -> None:
    body = json.dumps(SALE | {"amount": 500_00}).encode()  # more than the float holds
    target = "/api/v1/terminal/topups"
    headers = kiosk.headers("POST", target, body, key="big")
    first = kiosk.api.client.post(target, content=body, headers=headers)
    assert first.status_code == 422 and first.json()["code"] == "float_insufficient"
    counter.fund(kiosk_agent(counter, kiosk), 1000_00)
    replay = kiosk.api.client.post(target, content=body, headers=headers)
    assert replay.status_code == 409 and replay.json()["code"] == "nonce_replayed"
    assert counter.wallet(line.id) == 0, "the replay was not served, though it would pass now"
    ok_body = json.dumps(SALE).encode()
    ok = kiosk.headers("POST", target, ok_body, key="small")
    assert kiosk.api.client.post(target, content=ok_body, headers=ok).status_code == 201
    again = kiosk.api.client.post(target, content=ok_body, headers=ok)
    assert again.status_code == 409 and counter.wallet(line.id) == 50_00


def kiosk_agent(counter: Counter, kiosk: Kiosk) -> int:
    with counter.db.unit(readonly=True) as uow:
        from topup.agents.terminals import get_terminal

        return get_terminal(uow, kiosk.terminal_id).agent_id


def test_a_retry_signs_again_and_replays_the_first_result(counter: Counter, kiosk: Kiosk,
                                                          line: Line) -> None:
    first = kiosk.post("/topups", SALE, key="kiosk-7:tx-1")
    retry = kiosk.post("/topups", SALE, key="kiosk-7:tx-1")  # new nonce, same key
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    assert counter.wallet(line.id) == 50_00


def test_nonces_are_kept_while_a_replay_could_pass_the_window(
        counter: Counter, kiosk: Kiosk, clock: FrozenClock) -> None:
    target = "/api/v1/terminal/me"
    ahead = kiosk.now() + 299  # a terminal clock running ahead, still within the window
    headers = kiosk.headers("GET", target, b"", ts=ahead)
    assert kiosk.api.client.get(target, headers=headers).status_code == 200
    clock.advance(seconds=500)  # the server's own time of receipt is long past the window
    r = kiosk.api.client.get(target, headers=headers)
    assert r.status_code == 409, "the nonce outlives the window of its timestamp"
    clock.advance(seconds=100)
    assert kiosk.api.client.get(target, headers=headers).status_code == 401
    kiosk.get("/me")  # prunes what can no longer pass
    with counter.db.unit(readonly=True) as uow:
        left = uow.conn.execute(text("SELECT count(*) FROM terminal_nonces")).scalar()
    assert left == 1


def test_disabled_and_rotated_terminals(counter: Counter, kiosk: Kiosk, line: Line) -> None:
    base = f"/api/v1/admin/terminals/{kiosk.terminal_id}"
    r = counter.api.client.post(f"{base}/disable", headers=counter.staff,
                                json={"reason": "cash box broken open"})
    assert r.status_code == 200 and r.json()["state"] == "disabled"
    r = kiosk.post("/topups", SALE)
    assert r.status_code == 403 and r.json()["code"] == "terminal_disabled"
    counter.api.client.post(f"{base}/enable", headers=counter.staff, json={"reason": "fixed"})
    assert kiosk.get("/me").status_code == 200
    r = counter.api.client.post(f"{base}/rotate", headers=counter.staff)
    assert r.status_code == 200 and r.json()["secret"] != kiosk.secret
    assert kiosk.get("/me").status_code == 401, "the old secret stopped working"
    kiosk.secret = r.json()["secret"]
    assert kiosk.get("/me").status_code == 200
    listed = counter.api.client.get(f"/api/v1/admin/agents/{kiosk_agent(counter, kiosk)}"
                                    "/terminals", headers=counter.staff).json()
    assert [t["key_id"] for t in listed] == [kiosk.key_id]
    assert all("secret" not in t for t in listed)
    assert counter.wallet(line.id) == 0


def test_the_secret_is_not_stored(counter: Counter, kiosk: Kiosk) -> None:
    with counter.db.unit(readonly=True) as uow:
        rows = uow.conn.execute(text("SELECT * FROM agent_terminals")).all()
        audit = uow.conn.execute(text("SELECT * FROM audit_log")).all()
    assert kiosk.secret not in repr(rows) + repr(audit)


def test_bad_bodies_are_parsed_only_after_the_signature(counter: Counter, kiosk: Kiosk
                                                        ) -> None:
    body = b'{"msisdn": "+85261234567", "amount": -5, "tender": "cash"}'
    target = "/api/v1/terminal/topups"
    r = kiosk.api.client.post(target, content=body,
                              headers=kiosk.headers("POST", target, body, key="neg"))
    assert r.status_code == 422 and r.json()["code"] == "validation_failed"
    r = kiosk.api.client.post(target, content=b"not json", headers={
        "X-Terminal-Key": kiosk.key_id, "Content-Type": "application/json"})
    assert r.status_code == 401, "an unsigned bad body is refused as unsigned"


def test_reconciliation_per_terminal(counter: Counter, kiosk: Kiosk, line: Line,
                                     clock: FrozenClock) -> None:
    other = make_kiosk(counter, kiosk_agent(counter, kiosk), "Hall C")
    assert kiosk.post("/topups", SALE).status_code == 201
    assert kiosk.post("/topups", SALE | {"amount": 20_00, "tender": "card"}).status_code == 201
    assert other.post("/topups", SALE | {"amount": 10_00}).status_code == 201
    counter.topup(kiosk_agent(counter, kiosk), line.msisdn or "", 5_00, key=uuid.uuid4().hex)
    r = kiosk.get("/reconciliation")
    assert r.status_code == 200, r.text
    rep = r.json()
    assert (rep["topup_count"], rep["topups"], rep["float_debited"]) == (2, 70_00, 70_00)
    assert rep["by_tender"] == {"cash": 50_00, "card": 20_00}
    assert rep["commission"] == 50_00 * TIER_BP // 10000 + 20_00 * TIER_BP // 10000
    assert [s["amount"]["amount"] for s in rep["sales"]] == [50_00, 20_00]
    admin_view = counter.api.client.get(
        f"/api/v1/admin/terminals/{other.terminal_id}/reconciliation", headers=counter.staff)
    assert admin_view.json()["topups"] == 10_00
    yesterday = (clock().date().toordinal() - 1)
    from datetime import date

    r = kiosk.get(f"/reconciliation?date={date.fromordinal(yesterday).isoformat()}")
    assert r.status_code == 200 and r.json()["topup_count"] == 0
    stmt = counter.api.client.get(
        f"/api/v1/admin/agents/{kiosk_agent(counter, kiosk)}/statement",
        headers=counter.staff).json()
    assert stmt["topup_count"] == 4 and stmt["topups"] == 85_00 and stmt["reconciles"]
