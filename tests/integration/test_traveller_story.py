"""The core story over the API, on SQLite and PostgreSQL: a traveller registers, logs in,
binds a line, lists plans for Thailand, is credited by the office, buys a plan from the
wallet, uses data in Bangkok, renews before expiry, and reads the history."""

from __future__ import annotations

from tests.factories import Api, make_line, make_user
from topup.db.uow import Database

GB = 1024**3


def test_traveller_story(api: Api, catalogue: Database) -> None:
    c = api.client
    line = make_line(catalogue, currency="CNY", country="CN", secret="8642",
                     msisdn="+8613900139000")
    r = c.post("/api/v1/auth/register", json={"email": "Li.Wei@Example.com",
                                               "password": "s3cret-travel"})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == "li.wei@example.com"
    me = api.login("li.wei@example.com", "s3cret-travel")

    r = c.post("/api/v1/lines/bind", headers=me,
               json={"identifier": "+86 139 0013 9000", "secret": "8642"})
    assert r.status_code == 200, r.text
    assert [x["id"] for x in c.get("/api/v1/lines", headers=me).json()] == [line.id]

    plans = c.get("/api/v1/plans", params={"country": "TH", "currency": "CNY"}).json()
    week = next(p for p in plans if p["code"] == "TH-7D-10GB")
    assert any(p["zone"] in ("SEA", "ASIA") for p in plans), "region plans cover Thailand"
    price = week["prices"]["CNY"]

    admin = make_user(catalogue, "admin")
    staff = api.login(str(admin.email))
    r = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key="cash-desk-0001",
                 json={"amount": 200_00, "currency": "CNY", "reason": "cash at the airport desk"})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "fulfilled"

    r = api.post("/api/v1/orders", me, key="buy-th-week-1",
                 json={"line_id": line.id, "kind": "plan", "plan_id": week["id"],
                       "method": "wallet"})
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "fulfilled" and r.json()["renewal"] is False

    detail = c.get(f"/api/v1/lines/{line.id}", headers=me).json()
    assert detail["status"] == "active"
    assert detail["balances"] == [{"currency": "CNY", "balance": 200_00 - price,
                                   "available": 200_00 - price,
                                   "display": f"{(200_00 - price) / 100:.2f}"}]
    (bucket,) = detail["buckets"]
    assert bucket["units"]["data"] == {"total": 10 * GB, "remaining": 10 * GB}
    first_expiry = bucket["expires_at"]

    net = make_user(catalogue, "network")
    nh = api.login(str(net.email))
    r = api.post("/api/v1/usage", nh, json={
        "record_id": "pgw-bkk-000001", "line": line.iccid, "unit": "data",
        "quantity": 3 * GB, "country": "TH", "occurred_at": "2026-11-22T09:00:00Z"})
    assert r.status_code == 201, r.text
    assert r.json()["from_buckets"] == 3 * GB and r.json()["money_charged"] == 0
    detail = c.get(f"/api/v1/lines/{line.id}", headers=me).json()
    assert detail["buckets"][0]["units"]["data"]["remaining"] == 7 * GB

    r = api.post("/api/v1/orders", me, key="renew-th-week-1",
                 json={"line_id": line.id, "kind": "plan", "plan_id": week["id"],
                       "method": "wallet", "confirm_duplicate": True})
    assert r.status_code == 201, r.text
    assert r.json()["renewal"] is True
    buckets = c.get(f"/api/v1/lines/{line.id}", headers=me).json()["buckets"]
    assert [b["valid_from"] for b in buckets][1] == first_expiry, "renewal starts at expiry"

    orders = c.get(f"/api/v1/lines/{line.id}/orders", headers=me).json()["items"]
    assert [o["kind"] for o in orders] == ["plan", "plan", "topup"]
    usage = c.get(f"/api/v1/lines/{line.id}/usage", headers=me).json()["items"]
    assert [u["record_id"] for u in usage] == ["pgw-bkk-000001"]
    moves = c.get(f"/api/v1/lines/{line.id}/transactions", headers=me).json()["items"]
    money = [m["amount"] for m in moves if m["unit"] == "money:CNY"]
    assert money == [-price, -price, 200_00]
