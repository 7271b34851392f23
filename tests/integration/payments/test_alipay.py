"""Alipay end to end against a local Alipay (``alipay_peer``) with real RSA2 signatures.

A traveller orders through our HTTP API, the peer plays the payer and Alipay's gateway, and
its signed notification is POSTed, byte for byte, to ``/api/v1/webhooks/alipay``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import Api, make_line
from tests.integration.payments.alipay_peer import (
    APP_ID,
    SELLER_ID,
    AlipayPeer,
    Keys,
    bare_base64,
    new_key,
    private_pem,
    public_pem,
)
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.orders.service import get_order
from topup.payments.errors import PaymentDeclined, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import PaymentProvider, PaymentRequest
from topup.payments.providers.alipay import AlipayProvider
from topup.payments.providers.alipay.config import read_config
from topup.payments.registry import ProviderConfigError, ProviderContext, load
from topup.payments.service import reconcile

WEBHOOK = "/api/v1/webhooks/alipay"


@pytest.fixture(scope="module")
def keys() -> Keys:
    return Keys(app=new_key(), alipay=new_key())


@pytest.fixture(scope="module")
def attacker_key() -> Any:
    return new_key()


@pytest.fixture
def peer(keys: Keys) -> Iterator[AlipayPeer]:
    running = AlipayPeer(keys).start()
    yield running
    running.stop()


@pytest.fixture
def env(peer: AlipayPeer, keys: Keys) -> dict[str, str]:
    return {"TOPUP_ALIPAY_APP_ID": APP_ID,
            "TOPUP_ALIPAY_APP_PRIVATE_KEY": private_pem(keys.app),
            "TOPUP_ALIPAY_PUBLIC_KEY": public_pem(keys.alipay),
            "TOPUP_ALIPAY_GATEWAY": peer.gateway, "TOPUP_ALIPAY_SELLER_ID": SELLER_ID,
            "TOPUP_ALIPAY_TIMEOUT_SECONDS": "5"}


def build(env: dict[str, str], **overrides: str) -> AlipayProvider:
    merged = env | overrides
    return AlipayProvider(read_config(merged, merged.__getitem__))


@pytest.fixture
def alipay(env: dict[str, str]) -> AlipayProvider:
    return build(env)


def shop(db: Database, provider: AlipayProvider) -> tuple[Api, dict[str, str], int]:
    """An API with Alipay, and a traveller who bound a fresh line."""
    api = Api(db, {"alipay": provider})
    line = make_line(db, secret="2468")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "2468"})
    assert r.status_code == 200, r.text
    return api, me, line.id


def order(api: Api, me: dict[str, str], line_id: int, key: str, **body: Any) -> dict[str, Any]:
    fields = {"line_id": line_id, "kind": "topup", "amount": 100_00, "method": "alipay"} | body
    r = api.post("/api/v1/orders", me, key=key, json=fields)
    assert r.status_code == 201, r.text
    return dict(r.json())


def deliver(api: Api, note: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = note
    return api.client.post(WEBHOOK, content=body, headers=headers)


def state_of(api: Api, me: dict[str, str], order_id: int) -> str:
    return str(api.client.get(f"/api/v1/orders/{order_id}", headers=me).json()["state"])


def line_of(api: Api, me: dict[str, str], line_id: int) -> dict[str, Any]:
    return dict(api.client.get(f"/api/v1/lines/{line_id}", headers=me).json())


def balance(api: Api, me: dict[str, str], line_id: int) -> int:
    found = line_of(api, me, line_id)["balances"]
    return sum(int(b["balance"]) for b in found if b["currency"] == "CNY")


def test_alipay_conforms_to_the_port(alipay: AlipayProvider) -> None:
    assert isinstance(alipay, PaymentProvider)
    assert alipay.name == "alipay" and alipay.test_mode is True


def test_topup_paid_by_qr_code_end_to_end(catalogue: Database, alipay: AlipayProvider,
                                          peer: AlipayPeer) -> None:
    api, me, line_id = shop(catalogue, alipay)
    o = order(api, me, line_id, "ali-1")
    ref = alipay.trade_no(o["id"])
    assert o["state"] == "awaiting_payment"
    assert o["next_action"] == {"kind": "qr", "value": peer.trades[ref].qr_code, "extra": {}}
    method, biz = peer.calls[-1]
    assert method == "alipay.trade.precreate" and biz["total_amount"] == "100.00"
    assert biz["out_trade_no"] == ref == f"topup_{o['id']}"
    assert peer.trades[ref].notify_url.endswith(WEBHOOK)
    r = deliver(api, peer.pay(ref))
    assert (r.status_code, r.text) == (200, "success")
    assert r.headers["content-type"].startswith("text/plain")
    assert state_of(api, me, o["id"]) == "fulfilled"
    assert balance(api, me, line_id) == 100_00


def test_plan_bought_through_page_pay(catalogue: Database, env: dict[str, str],
                                      peer: AlipayPeer) -> None:
    provider = build(env, TOPUP_ALIPAY_MODE="page")
    api, me, line_id = shop(catalogue, provider)
    with catalogue.unit(readonly=True) as uow:
        plan = catalog.get_plan_by_code(uow, "TH-7D-10GB")
    o = order(api, me, line_id, "ali-plan", kind="plan", plan_id=plan.id, amount=None)
    assert o["state"] == "awaiting_payment" and o["next_action"]["kind"] == "redirect"
    url = o["next_action"]["value"]
    assert url.startswith(peer.gateway + "?") and "alipay.trade.page.pay" in url
    cashier = httpx.get(url, timeout=5)  # the payer's browser follows the redirect
    assert cashier.status_code == 200 and "49.00" in cashier.text
    r = deliver(api, peer.pay(provider.trade_no(o["id"])))
    assert (r.status_code, r.text) == (200, "success")
    assert state_of(api, me, o["id"]) == "fulfilled"
    detail = line_of(api, me, line_id)
    assert [b["plan_code"] for b in detail["buckets"]] == ["TH-7D-10GB"]
    assert balance(api, me, line_id) == 0, "paid straight into the plan"


def test_replays_and_out_of_order_notifications_credit_once(
        catalogue: Database, alipay: AlipayProvider, peer: AlipayPeer) -> None:
    api, me, line_id = shop(catalogue, alipay)
    o = order(api, me, line_id, "ali-2")
    ref = alipay.trade_no(o["id"])
    peer.scan(ref)
    assert deliver(api, peer.notification(ref)).text == "success"  # WAIT_BUYER_PAY
    assert state_of(api, me, o["id"]) == "awaiting_payment"
    paid = peer.pay(ref)
    for _ in range(100):
        r = deliver(api, paid)
        assert (r.status_code, r.text) == (200, "success")
    for late in ("TRADE_CLOSED", "WAIT_BUYER_PAY", "TRADE_FINISHED"):
        assert deliver(api, peer.notification(ref, late)).text == "success"
    refund_note = peer.notification(ref, "TRADE_SUCCESS", refund_fee="10.00",
                                    out_biz_no="r1", gmt_refund="2026-11-22 16:00:00")
    assert deliver(api, refund_note).text == "success"
    assert state_of(api, me, o["id"]) == "fulfilled"
    assert balance(api, me, line_id) == 100_00
    # Success first, then a pending notification that Alipay had sent earlier.
    o2 = order(api, me, line_id, "ali-3", amount=50_00)
    ref2 = alipay.trade_no(o2["id"])
    peer.scan(ref2)
    earlier = peer.notification(ref2, at=datetime.now(UTC) - timedelta(minutes=5))
    assert deliver(api, peer.pay(ref2)).text == "success"
    assert deliver(api, earlier).text == "success"
    assert state_of(api, me, o2["id"]) == "fulfilled"
    assert balance(api, me, line_id) == 150_00


def test_forged_altered_and_stale_notifications_credit_nothing(
        catalogue: Database, alipay: AlipayProvider, peer: AlipayPeer, attacker_key: Any,
        keys: Keys) -> None:
    api, me, line_id = shop(catalogue, alipay)
    o = order(api, me, line_id, "ali-4")
    ref = alipay.trade_no(o["id"])
    peer.scan(ref)
    peer.trades[ref].status = "TRADE_SUCCESS"
    good, headers = peer.notification(ref)
    forged = peer.notification(ref, key=attacker_key)
    altered = (good.replace(b"total_amount=100.00", b"total_amount=1.00"), headers)
    stale = peer.notification(ref, at=datetime.now(UTC) - timedelta(days=3))
    future = peer.notification(ref, at=datetime.now(UTC) + timedelta(hours=2))
    other_app = peer.notification(ref, app_id="2021999999999999")
    unsigned = (b"&".join(p for p in good.split(b"&") if not p.startswith(b"sign=")),
                headers)
    assert altered[0] != good
    for bad in (forged, altered, stale, future, other_app, unsigned,
                (b"\xff\xfe not a form", headers), (b"", headers)):
        r = deliver(api, bad)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_notification"
    assert state_of(api, me, o["id"]) == "awaiting_payment"
    assert balance(api, me, line_id) == 0
    assert deliver(api, (good, headers)).text == "success"
    assert balance(api, me, line_id) == 100_00


def test_lost_notification_is_settled_by_the_status_query(
        catalogue: Database, alipay: AlipayProvider, peer: AlipayPeer) -> None:
    api, me, line_id = shop(catalogue, alipay)
    o = order(api, me, line_id, "ali-5")
    ref = alipay.trade_no(o["id"])
    providers: dict[str, PaymentProvider] = {"alipay": alipay}
    unscanned = reconcile(catalogue, providers, older_than=timedelta(0))
    assert (unscanned.checked, unscanned.settled, unscanned.errors) == (1, 0, 0)
    peer.scan(ref)
    waiting = reconcile(catalogue, providers, older_than=timedelta(0))
    assert (waiting.checked, waiting.settled, waiting.errors) == (1, 0, 0)
    peer.pay(ref)  # the notification is lost
    done = reconcile(catalogue, providers, older_than=timedelta(0))
    assert (done.checked, done.settled) == (1, 1)
    assert state_of(api, me, o["id"]) == "fulfilled"
    assert balance(api, me, line_id) == 100_00
    assert reconcile(catalogue, providers, older_than=timedelta(0)).checked == 0


def test_a_code_nobody_scanned_expires_on_time(
        catalogue: Database, alipay: AlipayProvider, clock: FrozenClock) -> None:
    api, me, line_id = shop(catalogue, alipay)
    o = order(api, me, line_id, "ali-6")
    providers: dict[str, PaymentProvider] = {"alipay": alipay}
    assert reconcile(catalogue, providers, older_than=timedelta(0)).expired == 0
    clock.advance(minutes=catalogue.settings.payment_ttl_minutes + 1)
    late = reconcile(catalogue, providers, older_than=timedelta(0))
    assert (late.checked, late.errors, late.expired) == (1, 0, 1)
    with catalogue.unit() as uow:
        assert get_order(uow, o["id"]).state == "expired"


def paid_trade(alipay: AlipayProvider, peer: AlipayPeer, order_id: int = 7,
               amount: int = 100_00) -> str:
    started = alipay.start(PaymentRequest(order_id, amount, "CNY", "Top-up", f"order-{order_id}",
                                          notify_url="http://127.0.0.1/api/v1/webhooks/alipay"))
    peer.pay(started.provider_ref)
    return started.provider_ref


def test_partial_and_full_refunds(alipay: AlipayProvider, peer: AlipayPeer) -> None:
    ref = paid_trade(alipay, peer)
    first = alipay.refund(ref, 30_00, "CNY", "refund-1")
    assert (first.provider_ref, first.refund_ref, first.amount, first.currency,
            first.state) == (ref, "refund-1", 30_00, "CNY", "succeeded")
    assert alipay.refund(ref, 30_00, "CNY", "refund-1") == first, "a replay moves no money"
    assert peer.trades[ref].refunds == {"refund-1": "30.00"}
    with pytest.raises(RefundFailed):
        alipay.refund(ref, 80_00, "CNY", "refund-2")
    with pytest.raises(RefundFailed):
        alipay.refund(ref, 10_00, "USD", "refund-3")
    rest = alipay.refund(ref, 70_00, "CNY", "order:7:refund:2")
    assert rest.state == "succeeded" and rest.refund_ref.startswith("k_")
    assert peer.trades[ref].status == "TRADE_CLOSED"


def test_start_is_idempotent_and_refusals_are_translated(
        alipay: AlipayProvider, peer: AlipayPeer, env: dict[str, str]) -> None:
    request = PaymentRequest(11, 88_80, "CNY", "Top-up 88.80 CNY", "order-11")
    first = alipay.start(request)
    assert alipay.start(request) == first
    assert first.next_action.kind == "qr"
    with pytest.raises(PaymentDeclined):
        alipay.start(PaymentRequest(12, 10_00, "USD", "Top-up", "order-12"))
    peer.refuse = ("ACQ.TOTAL_FEE_EXCEED", "订单金额超过限额")
    with pytest.raises(PaymentDeclined) as declined:
        alipay.start(PaymentRequest(13, 10_00, "CNY", "Top-up", "order-13"))
    assert declined.value.extra["sub_code"] == "ACQ.TOTAL_FEE_EXCEED"
    peer.answer_key = new_key()  # an answer not signed by Alipay's key
    with pytest.raises(ProviderUnavailable):
        alipay.query(first.provider_ref)
    peer.answer_key, peer.broken = None, True
    with pytest.raises(ProviderUnavailable):
        alipay.start(PaymentRequest(14, 10_00, "CNY", "Top-up", "order-14"))
    peer.broken = False
    wrong_app = build(env, TOPUP_ALIPAY_APP_PRIVATE_KEY=private_pem(new_key()))
    with pytest.raises(ProviderUnavailable):  # the gateway refuses our signature
        wrong_app.start(PaymentRequest(15, 10_00, "CNY", "Top-up", "order-15"))


def test_unreachable_gateway_is_provider_unavailable(env: dict[str, str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = build(env, TOPUP_ALIPAY_GATEWAY=f"http://127.0.0.1:{port}/gateway.do")
    with pytest.raises(ProviderUnavailable):
        closed.start(PaymentRequest(21, 10_00, "CNY", "Top-up", "order-21"))
    with pytest.raises(ProviderUnavailable):
        closed.query("topup_21")
    with pytest.raises(ProviderUnavailable):
        closed.refund("topup_21", 10_00, "CNY", "refund-21")


def test_loaded_from_settings(db: Database, env: dict[str, str], keys: Keys) -> None:
    def ctx(values: dict[str, str]) -> ProviderContext:
        return ProviderContext(values, db.settings, db)

    bare = env | {"TOPUP_ALIPAY_APP_PRIVATE_KEY": bare_base64(private_pem(keys.app, "pkcs8")),
                  "TOPUP_ALIPAY_PUBLIC_KEY": bare_base64(public_pem(keys.alipay)),
                  "TOPUP_ALIPAY_MODE": "wap"}
    loaded = load(("alipay",), ctx(bare))["alipay"]
    assert isinstance(loaded, AlipayProvider) and loaded.config.mode == "wap"
    live = {k: v for k, v in env.items() if k != "TOPUP_ALIPAY_GATEWAY"}
    assert load(("alipay",), ctx(live))["alipay"].test_mode is False
    for broken, named in (({"TOPUP_ALIPAY_APP_ID": ""}, "TOPUP_ALIPAY_APP_ID"),
                          ({"TOPUP_ALIPAY_PUBLIC_KEY": "not a key"}, "TOPUP_ALIPAY_PUBLIC_KEY"),
                          ({"TOPUP_ALIPAY_MODE": "app"}, "TOPUP_ALIPAY_MODE"),
                          ({"TOPUP_ALIPAY_TRADE_PREFIX": "top-up"}, "TRADE_PREFIX")):
        with pytest.raises(ProviderConfigError, match=named):
            load(("alipay",), ctx(env | broken))


def test_an_order_in_another_currency_is_refused_before_alipay_is_called(
        catalogue: Database, alipay: AlipayProvider, peer: AlipayPeer) -> None:
    assert alipay.currencies == frozenset({"CNY"})
    api = Api(catalogue, {"alipay": alipay})
    line = make_line(catalogue, secret="1357", currency="USD", country="US")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "1357"})
    body = {"line_id": line.id, "kind": "topup", "amount": 20_00, "method": "alipay"}
    r = api.post("/api/v1/orders", me, key="ali-usd", json=body)
    assert r.status_code == 422 and r.json()["code"] == "payment_method_unavailable", r.text
    quoted = api.client.post("/api/v1/orders/quote", headers=me, json=body)
    assert quoted.status_code == 422 and quoted.json()["code"] == "payment_method_unavailable"
    assert peer.calls == []
    assert balance(api, me, line.id) == 0
