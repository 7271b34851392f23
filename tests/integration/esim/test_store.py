"""The eSIM store over the API: offers by destination, a guest's and a traveller's purchase
through the sandbox provider, the activation code only once paid, the profile assigned once,
an unpaid order giving its profile back, the SM-DP+'s progress reports, and stock alerts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import select

from tests.factories import Api, iccid, make_user
from topup.db.uow import Database
from topup.esim import inventory, store
from topup.esim.sealing import unseal
from topup.esim.tables import esim_profile_events, esim_profiles
from topup.ledger import service as ledger
from topup.notifications.tables import outbox
from topup.payments.providers.sandbox import SandboxProvider

TOKEN = "smdp-callback-token"
PROGRESS = "/api/v1/esim/smdp/gsma/rsp2/es2plus/handleDownloadProgressInfo"


def vendor_rows(n: int, *, zone: str = "ASIA", ptype: str = "travel-a",
                confirmation: bool = False) -> list[dict[str, str]]:
    return [{"iccid": iccid(), "smdp_address": "smdp.example.test",
             "matching_id": f"MATCH-{ptype}-{i:04d}", "profile_type": ptype, "zone": zone,
             "confirmation_code": f"{i:04d}73" if confirmation else ""} for i in range(n)]


def stock_up(db: Database, rows: list[dict[str, str]]) -> list[inventory.Profile]:
    with db.unit() as uow:
        return list(inventory.import_profiles(uow, rows))


@pytest.fixture
def shop(catalogue: Database) -> Api:
    db = catalogue
    db.settings = replace(db.settings, smdp_callback_token=TOKEN, esim_low_stock=1,
                          alert_email="ops@example.com")
    return Api(db, {"sandbox": SandboxProvider(db, db.settings.secret_key,
                                               "http://testserver")})


def plan_id(db: Database, code: str) -> int:
    from topup.catalog import service as catalog

    with db.unit(readonly=True) as uow:
        return catalog.get_plan_by_code(uow, code).id


def pay(api: Api, order: dict[str, Any]) -> None:
    ref = str(order["next_action"]["value"]).rsplit("/", 1)[1]
    assert api.client.post(f"/sandbox/pay/{ref}/approve").status_code in (200, 303)


def profile_row(db: Database, iccid_: str) -> Any:
    with db.unit(readonly=True) as uow:
        return uow.conn.execute(select(esim_profiles).where(
            esim_profiles.c.iccid == iccid_)).one()


def mails(db: Database, template: str) -> list[Any]:
    with db.unit(readonly=True) as uow:
        return uow.conn.execute(select(outbox).where(outbox.c.template == template)).all()


def test_offers_show_plans_a_pool_serves_in_the_visitors_currency(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(2, zone="JP", ptype="jp-only"))
    found = shop.client.get("/api/v1/store/offers?country=JP&currency=JPY").json()
    codes = {o["code"] for o in found}
    assert "JP-7D-10GB" in codes and all(o["currency"] == "JPY" for o in found)
    assert not any(o["zone"] == "ASIA" for o in found)  # a JP pool cannot serve Asia plans
    assert all(o["in_stock"] for o in found)
    assert shop.client.get("/api/v1/store/offers?country=TH&currency=JPY").json() == []
    bad = shop.client.get("/api/v1/store/offers?country=JPN&currency=JPY")
    assert bad.status_code == 422


def test_a_guest_buys_an_esim_gets_the_code_once_paid_and_the_profile_is_theirs(
        shop: Api) -> None:
    made = stock_up(shop.db, vendor_rows(3, confirmation=True))
    r = shop.client.post("/api/v1/store/orders", json={
        "plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox",
        "email": "Traveller@Example.com", "language": "zh-CN"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["account_created"] and body["token"]
    assert body["esim"]["state"] == "reserved" and body["esim"]["activation_code"] is None
    assert body["order"]["state"] == "awaiting_payment" and body["order"]["channel"] == "store"
    me = {"Authorization": f"Bearer {body['token']}"}
    order_id = body["order"]["id"]
    pay(shop, body["order"])

    got = shop.client.get(f"/api/v1/store/orders/{order_id}", headers=me).json()
    code = got["esim"]["activation_code"]
    assert got["order"]["state"] == "fulfilled" and got["esim"]["state"] == "assigned"
    assert code.startswith("LPA:1$smdp.example.test$MATCH-travel-a-") and code.endswith("$$1")
    assert got["esim"]["ios_install_url"].startswith(
        "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata=LPA%3A1%24")
    # the line is the buyer's, with the plan on it
    lines = shop.client.get("/api/v1/lines", headers=me).json()
    assert [ln["iccid"] for ln in lines] == [got["esim"]["iccid"]]
    with shop.db.unit(readonly=True) as uow:
        line_id = lines[0]["id"]
        assert ledger.wallets(uow, line_id)["JPY"].posted == 0  # the price bought the plan
    # the activation code and, apart, the confirmation code went out in Chinese
    ready = mails(shop.db, "esim_ready")
    assert len(ready) == 1 and ready[0].recipient == "traveller@example.com"
    assert ready[0].params["activation_code"] == code and ready[0].language == "zh-CN"
    confirm = mails(shop.db, "esim_confirmation")
    sold = next(p for p in made if p.iccid == got["esim"]["iccid"])
    assert len(confirm) == 1 and confirm[0].params["confirmation_code"] == \
        f"{made.index(sold):04d}73"
    assert "confirmation_code" not in ready[0].params
    # sealed at rest, opened only with the key and for that profile
    row = profile_row(shop.db, sold.iccid)
    assert f"{made.index(sold):04d}73" not in row.confirmation_sealed
    assert unseal(shop.db.settings.secret_key, sold.iccid, row.confirmation_sealed) == \
        f"{made.index(sold):04d}73"
    # someone else cannot read the purchase
    _, other = shop.as_new()
    assert shop.client.get(f"/api/v1/store/orders/{order_id}", headers=other).status_code \
        == 404


def test_a_guest_with_an_existing_account_is_asked_to_log_in(shop: Api) -> None:
    (profile,) = stock_up(shop.db, vendor_rows(1))
    user = make_user(shop.db, email="known@example.com")
    r = shop.client.post("/api/v1/store/orders", json={
        "plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox",
        "email": "KNOWN@example.com"})
    assert r.status_code == 409 and r.json()["code"] == "account_exists"
    assert profile_row(shop.db, profile.iccid).state == "available"  # nothing was taken
    # logged in, the same purchase goes through (Idempotency-Key required, replayed)
    me = shop.login(str(user.email))
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    first = shop.post("/api/v1/store/orders", me, key="buy-1", json=body)
    again = shop.post("/api/v1/store/orders", me, key="buy-1", json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    out = shop.client.post("/api/v1/store/orders", headers=me, json=body)
    assert out.status_code == 400  # no key


def test_out_of_stock_and_unsold_plans_are_clear_errors(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(1, zone="JP", ptype="jp-only"))
    _, me = shop.as_new()
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    assert shop.post("/api/v1/store/orders", me, key="a", json=body).status_code == 201
    r = shop.post("/api/v1/store/orders", me, key="b", json=body)
    assert r.status_code == 409 and r.json()["code"] == "esim_out_of_stock"
    r = shop.post("/api/v1/store/orders", me, key="c", json={
        **body, "plan_id": plan_id(shop.db, "TH-1D-1GB"), "currency": "THB"})
    assert r.status_code == 422 and r.json()["code"] == "esim_not_sold"
    r = shop.post("/api/v1/store/orders", me, key="d", json={**body, "method": "nope"})
    assert r.status_code == 422


def test_an_unpaid_order_gives_its_profile_back_and_a_late_payment_is_kept_apart(
        shop: Api, clock: Any) -> None:
    (profile,) = stock_up(shop.db, vendor_rows(1, zone="JP", ptype="jp-only"))
    _, me = shop.as_new()
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    first = shop.post("/api/v1/store/orders", me, key="a", json=body).json()
    clock.advance(minutes=shop.db.settings.payment_ttl_minutes + 6)
    assert store.sweep(shop.db) == 1
    row = profile_row(shop.db, profile.iccid)
    assert row.state == "available" and row.order_id is None
    got = shop.client.get(f"/api/v1/store/orders/{first['order']['id']}", headers=me)
    assert got.status_code == 404  # nothing of the store is theirs now
    assert shop.client.get("/api/v1/lines", headers=me).json() == []
    # someone else buys the same profile; the first payer's money arrives late
    _, other = shop.as_new()
    second = shop.post("/api/v1/store/orders", other, key="b", json=body).json()
    assert second["esim"]["iccid"] == profile.iccid
    pay(shop, first["order"])
    with shop.db.unit(readonly=True) as uow:
        wallet = ledger.wallets(uow, profile.line_id).get("JPY")
        assert wallet is None or wallet.posted == 0  # not in the new buyer's wallet
    assert profile_row(shop.db, profile.iccid).state == "reserved"


def test_download_progress_is_verified_kept_once_and_moves_the_profile(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(1))
    r = shop.client.post("/api/v1/store/orders", json={
        "plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox",
        "email": "t@example.com"}).json()
    pay(shop, r["order"])
    sold = r["esim"]["iccid"]
    report = {"header": {"functionRequesterIdentifier": "smdp.example.test",
                         "functionCallIdentifier": "call-1"},
              "iccid": sold, "profileType": "travel-a", "timestamp": "2026-12-05T10:00:00Z",
              "notificationPointId": 4,
              "notificationPointStatus": {"status": "Executed-Success"}}
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert shop.client.post(PROGRESS, json=report).status_code == 401
    assert shop.client.post(PROGRESS, json=report, headers={
        "Authorization": "Bearer wrong"}).status_code == 401
    bad = shop.client.post(PROGRESS, json={**report, "notificationPointId": "four"},
                           headers=auth)
    assert bad.status_code == 422 and bad.json()["code"] == "esim_bad_progress_info"
    unknown = shop.client.post(PROGRESS, json={**report, "iccid": iccid()}, headers=auth)
    assert unknown.status_code == 404
    for _ in range(2):
        done = shop.client.post(PROGRESS, json=report, headers=auth)
        assert done.status_code == 204 and done.content == b""
    row = profile_row(shop.db, sold)
    assert row.state == "installed" and row.installed_at is not None
    with shop.db.unit(readonly=True) as uow:
        kept = uow.conn.execute(select(esim_profile_events).where(
            esim_profile_events.c.profile_id == row.id,
            esim_profile_events.c.source == "smdp")).all()
    assert len(kept) == 1
    me = {"Authorization": f"Bearer {r['token']}"}
    got = shop.client.get(f"/api/v1/store/orders/{r['order']['id']}", headers=me).json()
    assert got["esim"]["state"] == "installed"


def test_a_failed_download_marks_the_profile_failed(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(1))
    r = shop.client.post("/api/v1/store/orders", json={
        "plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox",
        "email": "f@example.com"}).json()
    pay(shop, r["order"])
    report = {"header": {"functionRequesterIdentifier": "smdp.example.test",
                         "functionCallIdentifier": "call-2"},
              "iccid": r["esim"]["iccid"], "timestamp": "2026-12-05T10:00:00Z",
              "notificationPointId": 2,
              "notificationPointStatus": {"status": "Failed", "statusCodeData": {
                  "subjectCode": "8.2.7", "reasonCode": "3.8", "message": "refused"}}}
    done = shop.client.post(PROGRESS, json=report,
                            headers={"Authorization": f"Bearer {TOKEN}"})
    assert done.status_code == 204
    assert profile_row(shop.db, r["esim"]["iccid"]).state == "failed"


def test_low_stock_alerts_once_per_fall(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(2, zone="JP", ptype="jp-only"))
    assert store.low_stock(shop.db) == []
    _, me = shop.as_new()
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    shop.post("/api/v1/store/orders", me, key="a", json=body)
    (alert,) = store.low_stock(shop.db)
    assert alert["available"] == 1 and alert["profile_type"] == "jp-only"
    assert store.low_stock(shop.db) == []
    sent = mails(shop.db, "esim_low_stock")
    assert len(sent) == 1 and sent[0].recipient == "ops@example.com"


def test_only_travellers_buy_in_the_store(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(1))
    staff = shop.login(str(make_user(shop.db, "admin").email))
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    r = shop.post("/api/v1/store/orders", staff, key="s", json=body)
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    bad = shop.client.post("/api/v1/store/orders", json=body,
                           headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401
