"""WeChat Pay (API v3, Native) against a local peer that speaks its wire protocol.

The real ``wechatpayv3`` SDK signs our requests and checks the peer's signed answers; the
peer checks our signatures; notifications are encrypted and signed exactly as WeChat Pay
sends them and reach our webhook through the API. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories import Api, make_line, make_user
from tests.integration.payments.wechatpay_peer import Keys, Trade, WeChatPayPeer, new_key
from topup.clock import FrozenClock
from topup.config import Settings
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.orders import service as orders
from topup.orders.model import OrderRequest
from topup.payments import registry
from topup.payments.errors import PaymentDeclined, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import PaymentProvider, PaymentRequest
from topup.payments.providers.wechatpay import WeChatPayProvider, from_settings
from topup.payments.registry import ProviderConfigError, ProviderContext
from topup.payments.service import ReconcileResult, reconcile
from topup.subscribers.lines import Line

NOTIFY_URL = "https://topup.example/api/v1/webhooks/wechatpay"
FAILED_OR_WAITING = ("NOTPAY", "USERPAYING", "CLOSED", "PAYERROR", "REVOKED")


@pytest.fixture(scope="module")
def keys() -> Keys:
    """The merchant's and WeChat Pay's test keys (RSA-2048, made here)."""
    return Keys()


@pytest.fixture(scope="module")
def forger() -> rsa.RSAPrivateKey:
    return new_key()


@pytest.fixture
def peer(keys: Keys) -> Iterator[WeChatPayPeer]:
    running = WeChatPayPeer(keys).start()
    yield running
    running.stop()


def context(keys: Keys, peer: WeChatPayPeer, db: Database | None = None,
            env: dict[str, str] | None = None) -> ProviderContext:
    settings = db.settings if db is not None else Settings(
        data_dir=Path("."), database_url="sqlite://", secret_key="test")
    # The WeChat Pay provider keeps no tables: without a test database it is given none.
    return ProviderContext(keys.env(peer.url, **(env or {})), settings, cast(Database, db))


@pytest.fixture
def provider(keys: Keys, peer: WeChatPayPeer) -> WeChatPayProvider:
    return from_settings(context(keys, peer))


def request(order_id: int, amount: int, currency: str = "CNY") -> PaymentRequest:
    return PaymentRequest(order_id, amount, currency, f"Top-up {amount / 100:.2f}",
                          f"order-{order_id}", notify_url="https://shop.example/wx")


@dataclass
class Shop:
    """A traveller with a bound line, our API with WeChat Pay, and WeChat Pay's side."""

    api: Api
    me: dict[str, str]
    line: Line
    peer: WeChatPayPeer

    def order(self, key: str, **body: Any) -> dict[str, Any]:
        r = self.api.post("/api/v1/orders", self.me, key=key,
                          json={"line_id": self.line.id, "method": "wechatpay", **body})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def trade(self, order: dict[str, Any]) -> Trade:
        """WeChat Pay's trade behind the QR code the order shows."""
        return next(t for t in self.peer.trades.values()
                    if t.code_url == order["next_action"]["value"])

    def notify(self, headers: dict[str, str], body: bytes) -> Any:
        return self.api.client.post("/api/v1/webhooks/wechatpay", content=body, headers=headers)

    def state(self, order: dict[str, Any]) -> str:
        return str(self.api.client.get(f"/api/v1/orders/{order['id']}",
                                       headers=self.me).json()["state"])

    def detail(self) -> dict[str, Any]:
        return dict(self.api.client.get(f"/api/v1/lines/{self.line.id}", headers=self.me).json())

    def wallet(self) -> int:
        return sum(b["balance"] for b in self.detail()["balances"] if b["currency"] == "CNY")


@pytest.fixture
def shop(catalogue: Database, keys: Keys, peer: WeChatPayPeer) -> Shop:
    providers = registry.load(("wechatpay",), context(keys, peer, catalogue))
    api = Api(catalogue, providers)
    line = make_line(catalogue, secret="2468")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "2468"})
    assert r.status_code == 200, r.text
    return Shop(api, me, line, peer)


def test_provider_conforms_to_the_port(provider: WeChatPayProvider) -> None:
    assert isinstance(provider, PaymentProvider)
    assert provider.name == "wechatpay" and provider.test_mode is True


def test_topup_paid_by_qr_code_end_to_end(shop: Shop) -> None:
    order = shop.order("wx-topup-1", kind="topup", amount=100_00)
    assert order["state"] == "awaiting_payment"
    assert order["next_action"]["kind"] == "qr"
    assert order["next_action"]["value"].startswith("weixin://wxpay/bizpayurl?pr=")
    trade = shop.trade(order)
    assert (trade.total, trade.notify_url) == (100_00, NOTIFY_URL)
    assert trade.out_trade_no == f"TU{order['id']:06d}_10000"

    shop.peer.pay(trade.out_trade_no)
    r = shop.notify(*shop.peer.notification(trade.out_trade_no))
    assert (r.status_code, r.content) == (204, b""), "WeChat Pay wants 200/204, no body"
    assert shop.state(order) == "fulfilled"
    assert shop.wallet() == 100_00


def test_plan_bought_with_wechat_pay_lands_in_a_bucket(shop: Shop) -> None:
    plans = shop.api.client.get("/api/v1/plans", params={"country": "TH", "currency": "CNY"})
    week = next(p for p in plans.json() if p["code"] == "TH-7D-10GB")
    order = shop.order("wx-plan-1", kind="plan", plan_id=week["id"])
    assert order["state"] == "awaiting_payment" and order["next_action"]["kind"] == "qr"
    trade = shop.trade(order)
    assert trade.total == week["prices"]["CNY"] == order["amount"]

    shop.peer.pay(trade.out_trade_no)
    r = shop.notify(*shop.peer.notification(trade.out_trade_no))
    assert r.status_code == 204
    assert shop.state(order) == "fulfilled"
    detail = shop.detail()
    assert [b["plan_code"] for b in detail["buckets"]] == ["TH-7D-10GB"]
    assert shop.wallet() == 0, "the payment went through the wallet into the plan"


def test_the_same_notification_100_times_credits_once(shop: Shop) -> None:
    order = shop.order("wx-replay-1", kind="topup", amount=100_00)
    no = shop.trade(order).out_trade_no
    shop.peer.pay(no)
    headers, body = shop.peer.notification(no)
    for _ in range(100):
        r = shop.notify(headers, body)
        assert (r.status_code, r.content) == (204, b"")
    assert shop.state(order) == "fulfilled"
    assert shop.wallet() == 100_00


def test_notifications_out_of_order_credit_once(shop: Shop) -> None:
    first = shop.order("wx-ooo-1", kind="topup", amount=100_00)
    no = shop.trade(first).out_trade_no
    earlier_pending = shop.peer.notification(no, trade_state="NOTPAY")
    shop.peer.pay(no)
    success = shop.peer.notification(no)
    assert shop.notify(*success).status_code == 204
    assert shop.notify(*earlier_pending).status_code == 204, "late 'pending' after success"
    for state in FAILED_OR_WAITING:
        assert shop.notify(*shop.peer.notification(no, trade_state=state)).status_code == 204
    assert shop.notify(*success).status_code == 204
    assert shop.state(first) == "fulfilled"

    second = shop.order("wx-ooo-2", kind="topup", amount=50_00)
    no2 = shop.trade(second).out_trade_no
    assert shop.notify(*shop.peer.notification(no2, trade_state="USERPAYING")).status_code == 204
    assert shop.state(second) == "awaiting_payment", "pending changes nothing"
    shop.peer.pay(no2)
    assert shop.notify(*shop.peer.notification(no2)).status_code == 204
    assert shop.notify(*shop.peer.notification(no2, trade_state="CLOSED")).status_code == 204
    assert shop.state(second) == "fulfilled"
    assert shop.wallet() == 150_00


def test_forged_altered_and_stale_notifications_are_refused(shop: Shop,
                                                            forger: rsa.RSAPrivateKey) -> None:
    order = shop.order("wx-forged-1", kind="topup", amount=100_00)
    no = shop.trade(order).out_trade_no
    shop.peer.pay(no)
    headers, body = shop.peer.notification(no)
    altered = body.replace(b'"id": "', b'"id": "x', 1)
    assert altered != body
    attempts = {
        "forged": shop.peer.notification(no, key=forger),
        "altered": (headers, altered),
        "stale": shop.peer.notification(no, at=time.time() - 600),
        "unknown serial": shop.peer.notification(no, serial="PUB_KEY_ID_0000000000000000"),
        "unsigned": ({"Content-Type": "application/json"}, body),
        "signature probe": ({**headers, "Wechatpay-Signature": "WECHATPAY/SIGNTEST/" +
                             headers["Wechatpay-Signature"]}, body),
    }
    for what, (h, b) in attempts.items():
        r = shop.notify(h, b)
        assert r.status_code == 400, what
        assert r.json()["code"] == "invalid_notification", what
    assert not any(path.startswith("/v3/certificates") for _, path, _ in shop.peer.seen)
    assert shop.state(order) == "awaiting_payment" and shop.wallet() == 0

    assert shop.notify(headers, body).status_code == 204, "the genuine one still works"
    assert shop.wallet() == 100_00


def test_verified_notifications_that_are_not_ours_are_acknowledged(shop: Shop) -> None:
    order = shop.order("wx-other-1", kind="topup", amount=100_00)
    no = shop.trade(order).out_trade_no
    shop.peer.pay(no)
    others = [
        shop.peer.notification(no, event_type="REFUND.SUCCESS"),
        shop.peer.notification(no, mchid="1230000109"),
        shop.peer.notification(no, out_trade_no="ERP20261122000001"),
    ]
    for headers, body in others:
        assert shop.notify(headers, body).status_code == 204
    assert shop.state(order) == "awaiting_payment" and shop.wallet() == 0


def test_reconcile_settles_orders_whose_notification_never_came(
        catalogue: Database, clock: FrozenClock, keys: Keys, peer: WeChatPayPeer) -> None:
    providers = registry.load(("wechatpay",), context(keys, peer, catalogue))
    line = make_line(catalogue, secret="1357")
    buyer = make_user(catalogue).id
    made = []
    for amount in (100_00, 60_00, 30_00):
        with catalogue.unit() as uow:
            made.append(orders.create_order(uow, buyer, line, OrderRequest(
                kind="topup", method="wechatpay", channel="api", amount=amount),
                provider=providers["wechatpay"]))
    paid, closed, waiting = (o.payment_ref.split(":", 1)[1] for o in made if o.payment_ref)
    peer.pay(paid)
    peer.close(closed)
    clock.advance(seconds=1)

    result = reconcile(catalogue, providers, older_than=timedelta(0))
    assert result == ReconcileResult(checked=3, settled=1, failed=1, errors=0)
    with catalogue.unit(readonly=True) as uow:
        states = [orders.get_order(uow, o.id).state for o in made]
    assert states == ["fulfilled", "failed", "awaiting_payment"]
    assert reconcile(catalogue, providers, older_than=timedelta(0)) == ReconcileResult(1, 0, 0, 0)
    assert waiting in peer.trades


def test_start_is_idempotent_and_queries_map_trade_states(provider: WeChatPayProvider,
                                                          peer: WeChatPayPeer) -> None:
    first = provider.start(request(8, 25_00))
    again = provider.start(request(8, 25_00))
    assert first == again and list(peer.trades) == [first.provider_ref]
    assert peer.trades[first.provider_ref].notify_url == NOTIFY_URL

    waiting = provider.query(first.provider_ref)
    assert (waiting.state, waiting.amount, waiting.currency) == ("pending", 25_00, "CNY")
    peer.pay(first.provider_ref, bank_type="ICBC_CREDIT")
    paid = provider.query(first.provider_ref)
    assert (paid.state, paid.amount, paid.method_detail) == ("succeeded", 25_00,
                                                              "wechatpay ICBC_CREDIT")
    closing = provider.start(request(9, 10_00))
    peer.close(closing.provider_ref)
    assert provider.query(closing.provider_ref).state == "failed"


def test_only_cny_is_collected(provider: WeChatPayProvider, peer: WeChatPayPeer) -> None:
    with pytest.raises(PaymentDeclined, match="CNY only"):
        provider.start(request(10, 1000, "JPY"))
    assert peer.seen == [], "refused before anything reached WeChat Pay"


def test_notify_url_comes_from_the_order_unless_configured(keys: Keys,
                                                           peer: WeChatPayPeer) -> None:
    plain = from_settings(context(keys, peer, env={"TOPUP_WECHATPAY_NOTIFY_URL": ""}))
    started = plain.start(request(11, 5_00))
    assert peer.trades[started.provider_ref].notify_url == "https://shop.example/wx"


def test_refund_in_part_then_the_rest(provider: WeChatPayProvider, peer: WeChatPayPeer) -> None:
    ref = provider.start(request(7, 100_00)).provider_ref
    with pytest.raises(RefundFailed, match="not paid"):
        provider.refund(ref, 10_00, "CNY", "refund-early")
    peer.pay(ref)

    part = provider.refund(ref, 30_00, "CNY", "refund:order:7:1")
    assert (part.provider_ref, part.amount, part.currency, part.state) == (
        ref, 30_00, "CNY", "pending")
    assert part.refund_ref.startswith("50300")
    assert provider.refund(ref, 30_00, "CNY", "refund:order:7:1") == part, "same key, same refund"
    with pytest.raises(RefundFailed):
        provider.refund(ref, 31_00, "CNY", "refund:order:7:1")

    rest = provider.refund(ref, 70_00, "CNY", "refund-order-7-2")
    assert rest.amount == 70_00 and rest.refund_ref != part.refund_ref
    assert set(peer.trades[ref].refunds) == {
        "refund-order-7-2", next(k for k in peer.trades[ref].refunds if k.startswith("topup-"))}
    with pytest.raises(RefundFailed, match="超过"):
        provider.refund(ref, 1, "CNY", "refund-order-7-3")
    with pytest.raises(RefundFailed):
        provider.refund(ref, 1, "USD", "refund-order-7-4")
    assert provider.query(ref).state == "succeeded", "a refunded trade was still paid"


def test_our_signatures_and_theirs_are_both_checked(keys: Keys, peer: WeChatPayPeer,
                                                    forger: rsa.RSAPrivateKey) -> None:
    stranger = Keys(merchant=forger, platform=keys.platform, apiv3_key=keys.apiv3_key)
    impostor = from_settings(context(stranger, peer))
    with pytest.raises(ProviderUnavailable, match="SIGN_ERROR"):
        impostor.start(request(12, 5_00))

    provider = from_settings(context(keys, peer))
    ref = provider.start(request(13, 5_00)).provider_ref
    peer.answer_key = forger
    with pytest.raises(ProviderUnavailable, match="signature"):
        provider.query(ref)
    peer.answer_key, peer.answer_serial = keys.platform, "PUB_KEY_ID_0000000000000000"
    with pytest.raises(ProviderUnavailable, match="signature"):
        provider.query(ref)
    assert not any(path.startswith("/v3/certificates") for _, path, _ in peer.seen)


def test_an_unreachable_gateway_is_provider_unavailable(keys: Keys, peer: WeChatPayPeer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    gone = from_settings(context(keys, peer, env={
        "TOPUP_WECHATPAY_GATEWAY": f"http://127.0.0.1:{closed_port}"}))
    with pytest.raises(ProviderUnavailable):
        gone.query("TU000001_100")
    with pytest.raises(ProviderUnavailable):
        gone.start(request(14, 5_00))


def test_settings_are_checked_at_start_up(keys: Keys, peer: WeChatPayPeer) -> None:
    for name in ("MCHID", "APPID", "PRIVATE_KEY", "CERT_SERIAL_NO", "APIV3_KEY", "PUBLIC_KEY",
                 "PUBLIC_KEY_ID"):
        with pytest.raises(ProviderConfigError, match=f"TOPUP_WECHATPAY_{name}"):
            from_settings(context(keys, peer, env={f"TOPUP_WECHATPAY_{name}": ""}))
    bad = {"TOPUP_WECHATPAY_APIV3_KEY": "too-short",
           "TOPUP_WECHATPAY_PRIVATE_KEY": "not a key",
           "TOPUP_WECHATPAY_PUBLIC_KEY": "not a key either"}
    for name, value in bad.items():
        with pytest.raises(ProviderConfigError, match=name):
            from_settings(context(keys, peer, env={name: value}))
    with pytest.raises(ProviderConfigError, match="https"):
        from_settings(context(keys, peer, env={
            "TOPUP_WECHATPAY_GATEWAY": "", "TOPUP_WECHATPAY_NOTIFY_URL": ""}))
    live = from_settings(context(keys, peer, env={"TOPUP_WECHATPAY_GATEWAY": ""}))
    assert live.test_mode is False, "the real gateway: no network touched at start-up"
    assert keys.apiv3_key not in repr(live.config)


def test_an_order_in_another_currency_is_refused_before_wechat_pay(
        shop: Shop, catalogue: Database) -> None:
    line = make_line(catalogue, currency="JPY", country="JP", secret="9753")
    r = shop.api.client.post("/api/v1/lines/bind", headers=shop.me,
                             json={"identifier": line.iccid, "secret": "9753"})
    assert r.status_code == 200, r.text
    body = {"line_id": line.id, "kind": "topup", "amount": 3000, "method": "wechatpay"}
    r = shop.api.post("/api/v1/orders", shop.me, key="wx-jpy-1", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "payment_method_unavailable" and "JPY" in r.json()["detail"]
    quoted = shop.api.client.post("/api/v1/orders/quote", headers=shop.me, json=body)
    assert quoted.status_code == 422 and quoted.json()["code"] == "payment_method_unavailable"
    assert shop.peer.seen == []
    with catalogue.unit(readonly=True) as uow:
        assert ledger.wallets(uow, line.id) == {}
        assert orders.line_orders(uow, line.id, limit=5) == []


def test_an_unreachable_gateway_answers_502_without_its_address(
        catalogue: Database, keys: Keys, peer: WeChatPayPeer,
        caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    providers = registry.load(("wechatpay",), context(keys, peer, catalogue, env={
        "TOPUP_WECHATPAY_GATEWAY": f"http://127.0.0.1:{closed_port}"}))
    api = Api(catalogue, providers)
    line = make_line(catalogue, secret="2468")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "2468"})
    body = {"line_id": line.id, "kind": "topup", "amount": 100_00, "method": "wechatpay"}
    r = api.post("/api/v1/orders", me, key="wx-down-1", json=body)
    assert r.status_code == 502 and r.json()["code"] == "provider_unavailable"
    assert r.json()["detail"] == "the payment provider could not be reached; try again"
    zh = api.client.post("/api/v1/orders", json=body, headers={
        **me, "Idempotency-Key": "wx-down-2", "Accept-Language": "zh-CN"})
    assert zh.status_code == 502 and zh.json()["detail"] == "暂时无法连接支付服务商，请稍后重试"
    for answer in (r, zh):
        assert str(closed_port) not in answer.text and "127.0.0.1" not in answer.text
    assert str(closed_port) in caplog.text, "the real cause is logged for the operator"
    with catalogue.unit(readonly=True) as uow:
        assert ledger.wallets(uow, line.id) == {}
