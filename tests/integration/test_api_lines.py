"""Binding lines, seeing only one's own, lifecycle and freezing, eSIM activation codes."""

from __future__ import annotations

import pytest

from tests.factories import Api, iccid, make_line, make_user
from topup.db.uow import Database
from topup.errors import InvalidInput
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import IllegalTransition, InvalidIccid, LineNotFound


def test_bind_by_iccid_and_only_the_owner_sees_the_line(api: Api) -> None:
    line = make_line(api.db, secret="9911")
    _, alice = api.as_new()
    _, bob = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=alice,
                        json={"identifier": line.iccid, "secret": "9911"})
    assert r.status_code == 200 and r.json()["id"] == line.id
    assert api.client.get(f"/api/v1/lines/{line.id}", headers=bob).status_code == 404
    r = api.client.post("/api/v1/lines/bind", headers=bob,
                        json={"identifier": line.iccid, "secret": "9911"})
    assert r.status_code == 409 and r.json()["code"] == "line_already_bound"
    r = api.client.post("/api/v1/orders", headers=bob | {"Idempotency-Key": "k1"},
                        json={"line_id": line.id, "kind": "topup", "amount": 100,
                              "method": "wallet"})
    assert r.status_code == 404, "another's line is invisible"


def test_wrong_secret_is_refused_without_saying_why_then_locks(api: Api) -> None:
    line = make_line(api.db, secret="2222")
    _, me = api.as_new()
    for ident in (line.iccid, "8986000000000000000", "+8613800000000"):
        r = api.client.post("/api/v1/lines/bind", headers=me,
                            json={"identifier": ident, "secret": "0000"})
        assert r.status_code == 409 and r.json()["code"] == "bind_failed"
    for _ in range(7):
        api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "0000"})
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "2222"})
    assert r.status_code == 429, "ten failures lock binding for a while"


def test_esim_line_shows_its_activation_code(api: Api) -> None:
    line = make_line(api.db, kind="esim", smdp_address="smdp.example.com",
                     matching_id="ABC-123", secret="5555")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "5555"})
    assert r.json()["activation_code"] == "LPA:1$smdp.example.com$ABC-123"


def test_auto_renew_switch(api: Api) -> None:
    line = make_line(api.db, secret="3333")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "3333"})
    r = api.client.patch(f"/api/v1/lines/{line.id}", headers=me, json={"auto_renew": True})
    assert r.status_code == 200 and r.json()["auto_renew"] is True


@pytest.mark.parametrize("bad", ["8986012345678901238", "1234567890123456789", "89860123"])
def test_iccid_validation(db: Database, bad: str) -> None:
    with pytest.raises(InvalidIccid), db.unit() as uow:
        line_svc.create_line(uow, line_svc.LineSpec(iccid=bad, secret="1234", currency="CNY"))


def test_lifecycle_allows_only_legal_transitions(db: Database) -> None:
    line = make_line(db)
    with db.unit() as uow:
        assert line_svc.transition(uow, line.id, "active").status == "active"
        assert line_svc.transition(uow, line.id, "grace").status == "grace"
        assert line_svc.transition(uow, line.id, "suspended").status == "suspended"
        frozen = line_svc.freeze(uow, line.id, actor=None, reason="fraud check")
        assert frozen.status == "frozen"
        with pytest.raises(IllegalTransition):
            line_svc.transition(uow, line.id, "active")
        assert line_svc.unfreeze(uow, line.id, actor=None, reason="cleared").status == "suspended"
        assert line_svc.transition(uow, line.id, "terminated").status == "terminated"
        for to in ("active", "grace", "frozen"):
            with pytest.raises(IllegalTransition):
                line_svc.transition(uow, line.id, to)


def test_admin_freeze_refuses_topups_with_a_clear_error(api: Api, catalogue: Database) -> None:
    line = make_line(catalogue, secret="4444")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "4444"})
    admin = make_user(catalogue, "admin")
    staff = api.login(str(admin.email))
    assert api.client.post(f"/api/v1/admin/lines/{line.id}/freeze", headers=staff,
                           json={"reason": ""}).status_code == 422
    r = api.client.post(f"/api/v1/admin/lines/{line.id}/freeze", headers=staff,
                        json={"reason": "reported stolen"})
    assert r.status_code == 200 and r.json()["status"] == "frozen"
    r = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key="c-1",
                 json={"amount": 5000, "reason": "goodwill"})
    assert r.status_code == 409 and r.json()["code"] == "line_not_usable"
    r = api.client.get("/api/v1/admin/audit", headers=staff, params={"target": f"line:{line.id}"})
    assert [e["action"] for e in r.json()] == ["line.freeze"]
    assert api.client.get("/api/v1/admin/audit", headers=me).status_code == 403


def test_lines_csv_import_is_all_or_nothing(db: Database) -> None:
    good = {"iccid": iccid(), "secret": "K7q-29xv", "currency": "EUR", "msisdn": "+447911123400"}
    bad = {"iccid": "8986", "secret": "K7q-29xv", "currency": "EUR"}
    with pytest.raises(InvalidInput, match="row 3"), db.unit() as uow:
        list(line_svc.import_lines(uow, [good, bad]))
    with db.unit() as uow, pytest.raises(LineNotFound):
        line_svc.find_line(uow, good["iccid"])
