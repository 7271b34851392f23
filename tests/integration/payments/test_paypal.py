"""PayPal Checkout end to end: the real ``paypal-server-sdk`` against a local PayPal peer.

A traveller orders through our HTTP API, PayPal hands out an approval link, the payer
approves at the peer, and PayPal's signed webhook (RSA-SHA256 over ``id|time|webhook|crc32``,
a test-made certificate chain) reaches ``/api/v1/webhooks/paypal`` byte for byte. Replays,
events out of order, forged/altered/stale transmissions, lost webhooks (reconciliation
captures) and refunds are covered; everything runs on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories import Api, make_line
from tests.integration.payments.paypal_peer import (
    CERT_URL,
    PayPalPeer,
    Pki,
    WebhookSigner,
    event,
    make_pki,
)
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.uow import Database
from topup.payments.errors import (
    InvalidNotification,
    PaymentDeclined,
    PaymentError,
    ProviderUnavailable,
    RefundFailed,
)
from topup.payments.interfaces import PaymentProvider, PaymentRequest
from topup.payments.providers.paypal import PaypalProvider, from_settings
from topup.payments.providers.paypal.resources import paypal_value
from topup.payments.providers.paypal.signature import WebhookVerifier
from topup.payments.registry import ProviderConfigError, ProviderContext
from topup.payments.service import reconcile

WEBHOOK_ID = "8PT597110X687430LKGECATA"
HOOK = "/api/v1/webhooks/paypal"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def attacker() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def peer() -> Iterator[PayPalPeer]:
    with PayPalPeer() as running:
        yield running


def env_for(peer: PayPalPeer, pki: Pki, **more: str) -> dict[str, str]:
    return {"TOPUP_PAYPAL_CLIENT_ID": "test-client", "TOPUP_PAYPAL_CLIENT_SECRET": "test-secret",
            "TOPUP_PAYPAL_WEBHOOK_ID": WEBHOOK_ID, "TOPUP_PAYPAL_BASE_URL": peer.url,
            "TOPUP_PAYPAL_CERT_PEM": pki.leaf_pem(), **more}


def context(env: dict[str, str], tmp_path: Path) -> ProviderContext:
    settings = load_settings(data_dir=tmp_path, database_url="sqlite://", secret_key="k")
    return ProviderContext(env=env, settings=settings, db=None)  # type: ignore[arg-type]


@pytest.fixture
def provider(peer: PayPalPeer, pki: Pki, tmp_path: Path) -> PaypalProvider:
    return from_settings(context(env_for(peer, pki), tmp_path))


@pytest.fixture
def signer(pki: Pki) -> WebhookSigner:
    return WebhookSigner(WEBHOOK_ID, pki.leaf_key)


class Traveller:
    """A customer with a bound line, ordering through the API with PayPal."""

    def __init__(self, db: Database, provider: PaypalProvider, peer: PayPalPeer,
                 signer: WebhookSigner) -> None:
        self.api = Api(db, {"paypal": provider})
        self.provider, self.peer, self.signer = provider, peer, signer
        self.line = make_line(db, secret="4321")
        _, self.me = self.api.as_new()
        r = self.api.client.post("/api/v1/lines/bind", headers=self.me,
                                 json={"identifier": self.line.iccid, "secret": "4321"})
        assert r.status_code == 200, r.text

    def order(self, key: str, **body: Any) -> dict[str, Any]:
        r = self.api.post("/api/v1/orders", self.me, key=key,
                          json={"line_id": self.line.id, "method": "paypal", **body})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def ref(self, order: dict[str, Any]) -> str:
        return str(order["next_action"]["value"]).rsplit("token=", 1)[1]

    def deliver(self, body: bytes, headers: dict[str, str] | None = None) -> Any:
        """POST a transmission exactly as PayPal would (signed now unless headers given)."""
        return self.api.client.post(HOOK, content=body,
                                    headers=headers or self.signer.headers(body))

    def state(self, order_id: int) -> str:
        r = self.api.client.get(f"/api/v1/orders/{order_id}", headers=self.me)
        return str(r.json()["state"])

    def line_view(self) -> dict[str, Any]:
        r = self.api.client.get(f"/api/v1/lines/{self.line.id}", headers=self.me)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def wallet(self) -> int:
        found = [b for b in self.line_view()["balances"] if b["currency"] == "CNY"]
        return int(found[0]["balance"]) if found else 0


@pytest.fixture
def traveller(catalogue: Database, provider: PaypalProvider, peer: PayPalPeer,
              signer: WebhookSigner) -> Traveller:
    return Traveller(catalogue, provider, peer, signer)


def test_the_provider_conforms_to_the_payment_port(provider: PaypalProvider) -> None:
    assert isinstance(provider, PaymentProvider)
    assert provider.name == "paypal" and provider.test_mode is True


def test_a_topup_is_approved_captured_by_the_webhook_and_credited(traveller: Traveller,
                                                                  peer: PayPalPeer) -> None:
    order = traveller.order("pp-1", kind="topup", amount=100_00)
    ref = traveller.ref(order)
    assert order["state"] == "awaiting_payment"
    assert order["next_action"] == {
        "kind": "redirect", "value": f"https://www.sandbox.paypal.com/checkoutnow?token={ref}",
        "extra": {}}
    sent = peer.state.created[-1]
    unit = sent["purchase_units"][0]
    assert sent["intent"] == "CAPTURE"
    assert unit["amount"] == {"currency_code": "CNY", "value": "100.00"}
    assert unit["custom_id"] == unit["invoice_id"] == str(order["id"])
    assert peer.calls_to("/v2/checkout/orders")[0][2] == f"order-{order['id']}"
    assert peer.calls_to("/v1/oauth2/token"), "the SDK fetched its own token"

    peer.approve(ref)
    r = traveller.deliver(event("CHECKOUT.ORDER.APPROVED", peer.order(ref)))
    assert (r.status_code, r.text) == (200, "")
    assert peer.calls_to(f"/{ref}/capture")[0][2] == f"capture-{ref}"
    assert traveller.state(order["id"]) == "fulfilled"
    assert traveller.wallet() == 100_00

    r = traveller.deliver(event("PAYMENT.CAPTURE.COMPLETED", peer.capture_of(ref)))
    assert (r.status_code, r.text) == (200, "")
    assert traveller.wallet() == 100_00


def test_a_plan_bought_with_paypal_lands_in_a_bucket(traveller: Traveller, peer: PayPalPeer
                                                     ) -> None:
    plans = traveller.api.client.get("/api/v1/plans", params={"country": "TH"}).json()
    plan = next(p for p in plans if p["code"] == "TH-7D-10GB")
    order = traveller.order("pp-plan", kind="plan", plan_id=plan["id"])
    ref = traveller.ref(order)
    unit = peer.state.created[-1]["purchase_units"][0]
    assert unit["amount"]["value"] == paypal_value(order["amount"], "CNY")
    peer.approve(ref)
    r = traveller.deliver(event("CHECKOUT.ORDER.APPROVED", peer.order(ref)))
    assert r.status_code == 200
    assert traveller.state(order["id"]) == "fulfilled"
    view = traveller.line_view()
    assert [b["plan_code"] for b in view["buckets"]] == ["TH-7D-10GB"]
    assert traveller.wallet() == 0, "the payment went through the wallet into the plan"


def test_a_notification_replayed_100_times_credits_once(traveller: Traveller,
                                                        peer: PayPalPeer) -> None:
    order = traveller.order("pp-replay", kind="topup", amount=50_00)
    ref = traveller.ref(order)
    peer.approve(ref)
    assert traveller.state(order["id"]) == "awaiting_payment", "approved is not paid"
    traveller.deliver(event("CHECKOUT.ORDER.APPROVED", peer.order(ref)))
    body = event("PAYMENT.CAPTURE.COMPLETED", peer.capture_of(ref))
    headers = traveller.signer.headers(body)
    for _ in range(100):
        r = traveller.deliver(body, headers)
        assert (r.status_code, r.text) == (200, "")
    assert traveller.wallet() == 50_00
    assert len(peer.calls_to(f"/{ref}/capture")) == 1
    stranger = {**peer.capture_of(ref), "supplementary_data": {"related_ids": {
        "order_id": "NOT-OURS-1234567"}}}
    r = traveller.deliver(event("PAYMENT.CAPTURE.COMPLETED", stranger))
    assert (r.status_code, r.text) == (200, ""), "verified but not ours: acknowledged, ignored"
    assert traveller.wallet() == 50_00


def test_events_out_of_order_credit_exactly_once(traveller: Traveller, peer: PayPalPeer
                                                 ) -> None:
    first = traveller.order("pp-ooo-1", kind="topup", amount=30_00)
    ref = traveller.ref(first)
    peer.approve(ref)
    traveller.deliver(event("CHECKOUT.ORDER.APPROVED", peer.order(ref)))
    capture = peer.capture_of(ref)
    # Success first, then an earlier "pending", a later "denied" and unrelated events.
    for kind in ("PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING",
                 "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.REFUNDED", "CHECKOUT.ORDER.VOIDED"):
        r = traveller.deliver(event(kind, capture))
        assert (r.status_code, r.text) == (200, ""), kind
    assert traveller.state(first["id"]) == "fulfilled"
    assert traveller.wallet() == 30_00

    # A "denied" that overtakes the success: the order fails, the money still arrives once.
    second = traveller.order("pp-ooo-2", kind="topup", amount=20_00)
    ref2 = traveller.ref(second)
    peer.approve(ref2)
    capture2 = _captured(traveller, ref2)
    for kind in ("PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.COMPLETED",
                 "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.PENDING"):
        assert traveller.deliver(event(kind, capture2)).status_code == 200
    assert traveller.state(second["id"]) == "failed"
    assert traveller.wallet() == 50_00, "the late payment is credited to the wallet, once"


def _captured(traveller: Traveller, ref: str) -> dict[str, Any]:
    """Capture through the provider alone (no settling), and return PayPal's capture."""
    assert traveller.provider.query(ref).state == "succeeded"
    return traveller.peer.capture_of(ref)


def test_forged_altered_stale_and_foreign_transmissions_are_rejected(
        traveller: Traveller, peer: PayPalPeer, attacker: rsa.RSAPrivateKey) -> None:
    order = traveller.order("pp-forged", kind="topup", amount=80_00)
    ref = traveller.ref(order)
    peer.approve(ref)
    body = event("PAYMENT.CAPTURE.COMPLETED", _captured(traveller, ref))
    good = traveller.signer.headers(body)
    forged = WebhookSigner(WEBHOOK_ID, attacker).headers(body)
    stale = traveller.signer.headers(body, at=datetime.now(UTC) - timedelta(minutes=6))
    other_hook = traveller.signer.headers(body, webhook_id="SOMEONE-ELSES-WEBHOOK")
    evil_url = {**good, "PAYPAL-CERT-URL": "https://paypal.com.evil.example/cert.pem"}
    plain_http = {**good, "PAYPAL-CERT-URL": CERT_URL.replace("https://", "http://")}
    no_sig = {k: v for k, v in good.items() if k != "PAYPAL-TRANSMISSION-SIG"}
    altered = body.replace(b'"value": "80.00"', b'"value": "8000.00"')
    assert altered != body
    cases = [(body, forged), (altered, good), (body, stale), (body, other_hook),
             (body, evil_url), (body, plain_http), (body, no_sig),
             (body, {**good, "PAYPAL-AUTH-ALGO": "SHA1withRSA"})]
    for sent, headers in cases:
        r = traveller.deliver(sent, headers)
        assert r.status_code == 400, (headers, r.text)
        assert r.json()["code"] == "invalid_notification"
    assert traveller.state(order["id"]) == "awaiting_payment"
    assert traveller.wallet() == 0
    assert traveller.deliver(body, good).status_code == 200, "the genuine one still works"
    assert traveller.wallet() == 80_00


def test_a_lost_webhook_is_settled_by_reconciliation_which_captures(
        traveller: Traveller, peer: PayPalPeer, provider: PaypalProvider,
        clock: FrozenClock) -> None:
    paid = traveller.order("pp-rec-1", kind="topup", amount=60_00)
    unpaid = traveller.order("pp-rec-2", kind="topup", amount=70_00)
    declined = traveller.order("pp-rec-3", kind="topup", amount=90_00)
    peer.approve(traveller.ref(paid))
    peer.approve(traveller.ref(declined))
    peer.decline_next_capture(traveller.ref(declined))
    clock.advance(seconds=1)
    result = reconcile(traveller.api.db, {"paypal": provider}, older_than=timedelta(0))
    assert (result.checked, result.settled, result.failed, result.errors) == (3, 1, 1, 0)
    assert traveller.state(paid["id"]) == "fulfilled"
    assert traveller.state(unpaid["id"]) == "awaiting_payment"
    assert traveller.state(declined["id"]) == "failed"
    assert traveller.wallet() == 60_00
    again = reconcile(traveller.api.db, {"paypal": provider}, older_than=timedelta(0))
    assert (again.checked, again.settled) == (1, 0)
    assert len(peer.calls_to(f"/{traveller.ref(paid)}/capture")) == 1
    assert traveller.wallet() == 60_00


def test_refunds_full_and_partial_through_paypal(provider: PaypalProvider, peer: PayPalPeer
                                                 ) -> None:
    start = provider.start(PaymentRequest(7, 100_00, "CNY", "Top-up", "order-7"))
    with pytest.raises(RefundFailed):
        provider.refund(start.provider_ref, 10_00, "CNY", "refund-early")
    peer.approve(start.provider_ref)
    assert provider.query(start.provider_ref).state == "succeeded"
    part = provider.refund(start.provider_ref, 40_00, "CNY", "refund-7-a")
    assert (part.amount, part.currency, part.state) == (40_00, "CNY", "succeeded")
    assert provider.refund(start.provider_ref, 40_00, "CNY", "refund-7-a") == part
    assert peer.calls_to("/refund")[-1][2] == "refund-7-a"
    with pytest.raises(RefundFailed):
        provider.refund(start.provider_ref, 70_00, "CNY", "refund-7-b")
    rest = provider.refund(start.provider_ref, 60_00, "CNY", "refund-7-c")
    assert rest.refund_ref != part.refund_ref and rest.amount == 60_00
    assert provider.query(start.provider_ref).state == "succeeded", "refunds are not failures"


def test_vendor_errors_are_translated(peer: PayPalPeer, pki: Pki, tmp_path: Path,
                                      provider: PaypalProvider) -> None:
    request = PaymentRequest(9, 10_00, "CNY", "Top-up", "order-9")
    wrong = from_settings(context(env_for(peer, pki, TOPUP_PAYPAL_CLIENT_SECRET="nope"),
                                  tmp_path))
    with pytest.raises(ProviderUnavailable) as caught:
        wrong.start(request)
    assert type(caught.value) is ProviderUnavailable
    with pytest.raises(PaymentDeclined):
        provider.start(PaymentRequest(9, 10_00, "XTS", "Top-up", "order-9x"))
    with pytest.raises(PaymentError):
        provider.query("NO-SUCH-ORDER")
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    gone = from_settings(context(env_for(peer, pki, TOPUP_PAYPAL_BASE_URL=closed), tmp_path))
    with pytest.raises(ProviderUnavailable):
        gone.start(request)
    with pytest.raises(InvalidNotification):
        provider.parse_notification({}, b"{}")


def test_amounts_follow_each_currencys_digits() -> None:
    assert paypal_value(100_50, "CNY") == "100.50"
    assert paypal_value(1500, "JPY") == "1500"
    assert paypal_value(1200_00, "TWD") == "1200"
    with pytest.raises(PaymentDeclined):
        paypal_value(1200_50, "HUF")


def test_settings_are_checked_at_start_up(peer: PayPalPeer, pki: Pki, tmp_path: Path) -> None:
    env = env_for(peer, pki)
    del env["TOPUP_PAYPAL_WEBHOOK_ID"]
    with pytest.raises(ProviderConfigError, match="TOPUP_PAYPAL_WEBHOOK_ID"):
        from_settings(context(env, tmp_path))
    with pytest.raises(ProviderConfigError, match="CERT_PEM"):
        from_settings(context(env_for(peer, pki, TOPUP_PAYPAL_MODE="live"), tmp_path))
    live = env_for(peer, pki, TOPUP_PAYPAL_MODE="live")
    del live["TOPUP_PAYPAL_CERT_PEM"]
    assert from_settings(context(live, tmp_path)).test_mode is False


def test_live_verification_fetches_checks_the_chain_and_caches(pki: Pki) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return pki.leaf_pem().encode()

    verifier = WebhookVerifier(WEBHOOK_ID, fetch, roots=[pki.root])
    signer = WebhookSigner(WEBHOOK_ID, pki.leaf_key)
    body = json.dumps({"id": "WH-1", "event_type": "PAYMENT.CAPTURE.COMPLETED"}).encode()
    verifier.verify(signer.headers(body), body)
    verifier.verify(signer.headers(body), body)
    assert fetched == [CERT_URL], "the certificate is fetched once and cached"

    impostor = make_pki()  # right name, but its root is not one we trust
    fooled = WebhookVerifier(WEBHOOK_ID, lambda url: impostor.leaf_pem().encode(),
                             roots=[pki.root])
    with pytest.raises(InvalidNotification, match="chain"):
        fooled.verify(WebhookSigner(WEBHOOK_ID, impostor.leaf_key).headers(body), body)
    stranger = make_pki("api.example.com")
    named = WebhookVerifier(WEBHOOK_ID, lambda url: stranger.leaf_pem().encode(),
                            roots=[stranger.root])
    with pytest.raises(InvalidNotification, match="message-signing"):
        named.verify(WebhookSigner(WEBHOOK_ID, stranger.leaf_key).headers(body), body)
