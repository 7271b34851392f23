"""Card payments through Stripe, end to end against a local Stripe (localstripe on 127.0.0.1):
the real SDK on the wire, the payer's card going only to "Stripe", webhooks signed by the peer
and delivered byte for byte through our API, replays, disorder, forgeries, the status query
when no webhook comes, refunds, and no card data anywhere in our database or logs."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import stripe
from sqlalchemy import inspect, text

from tests.factories import Api, make_line
from tests.integration.payments.stripe_peer import (
    PUBLISHABLE_KEY,
    SECRET_KEY,
    Delivery,
    StripePeer,
    event_body,
    sign,
)
from topup.db.uow import Database
from topup.money import InvalidAmount
from topup.payments.errors import InvalidNotification, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import PaymentProvider, PaymentRequest
from topup.payments.providers.stripe import StripeProvider, from_settings
from topup.payments.providers.stripe.amounts import from_stripe, to_stripe
from topup.payments.registry import ProviderConfigError, ProviderContext
from topup.payments.service import reconcile

WEBHOOK_SECRET = "whsec_current_local_peer"
OLD_SECRET = "whsec_previous_local_peer"
HOOK = "/api/v1/webhooks/stripe"
ACK_BODY = '{"received":true}'
CARD = "4242424242424242"
CVC = "719"


def env_for(peer: StripePeer, **extra: str) -> dict[str, str]:
    return {"TOPUP_STRIPE_SECRET_KEY": SECRET_KEY, "TOPUP_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "TOPUP_STRIPE_WEBHOOK_SECRETS": f"{OLD_SECRET}, {WEBHOOK_SECRET}",
            "TOPUP_STRIPE_API_BASE": peer.url, "TOPUP_STRIPE_TIMEOUT_SECONDS": "5",
            "TOPUP_STRIPE_MAX_RETRIES": "0", **extra}


def build(env: dict[str, str], db: Database | None = None) -> StripeProvider:
    # The provider reads only ``env``; settings and db are there for other providers.
    return from_settings(ProviderContext(env, None, db))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def peer() -> Iterator[StripePeer]:
    running = StripePeer().start()
    yield running
    running.stop()


@pytest.fixture
def local(peer: StripePeer) -> StripePeer:
    peer.reset(WEBHOOK_SECRET)
    return peer


@pytest.fixture
def provider(local: StripePeer) -> StripeProvider:
    return build(env_for(local))


@pytest.fixture
def shop(catalogue: Database, provider: StripeProvider) -> tuple[Api, dict[str, str], int]:
    api = Api(catalogue, {"stripe": provider})
    line = make_line(catalogue, secret="2718")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "2718"})
    assert r.status_code == 200, r.text
    return api, me, line.id


def order(api: Api, me: dict[str, str], key: str, **body: Any) -> dict[str, Any]:
    r = api.post("/api/v1/orders", me, key=key, json={"method": "stripe", **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


def intent_of(o: dict[str, Any]) -> str:
    return str(o["next_action"]["value"]).split("_secret_")[0]


def state(api: Api, me: dict[str, str], o: dict[str, Any]) -> str:
    return str(api.client.get(f"/api/v1/orders/{o['id']}", headers=me).json()["state"])


def balance(api: Api, me: dict[str, str], line_id: int) -> int:
    found = api.client.get(f"/api/v1/lines/{line_id}", headers=me).json()["balances"]
    return int(found[0]["balance"]) if found else 0


def deliver(api: Api, body: bytes, headers: dict[str, str]) -> Any:
    return api.client.post(HOOK, content=body, headers=headers)


def forward(api: Api, d: Delivery) -> Any:
    return deliver(api, d.body, d.forward_headers())


# --- the provider on its own ------------------------------------------------------------------

def test_stripe_provider_conforms_to_the_port(provider: StripeProvider) -> None:
    assert isinstance(provider, PaymentProvider)
    assert provider.name == "stripe" and provider.test_mode is True


def test_settings_name_what_is_missing(local: StripePeer) -> None:
    for missing in ("TOPUP_STRIPE_SECRET_KEY", "TOPUP_STRIPE_PUBLISHABLE_KEY",
                    "TOPUP_STRIPE_WEBHOOK_SECRETS"):
        with pytest.raises(ProviderConfigError, match=missing):
            build(env_for(local, **{missing: " "}))
    with pytest.raises(ProviderConfigError, match="different modes"):
        build(env_for(local, TOPUP_STRIPE_PUBLISHABLE_KEY="pk_live_x"))
    live = build(env_for(local, TOPUP_STRIPE_SECRET_KEY="sk_live_x",
                         TOPUP_STRIPE_PUBLISHABLE_KEY="pk_live_x"))
    assert live.test_mode is False


def test_amounts_map_exactly_to_stripe_units() -> None:
    assert to_stripe(100_00, "CNY") == (100_00, "cny")
    assert to_stripe(3000, "JPY") == (3000, "jpy"), "zero-decimal in both"
    assert to_stripe(500, "ISK") == (500_00, "isk"), "ISO 0 digits, Stripe 2"
    assert to_stripe(1_230, "KWD") == (1_230, "kwd")
    with pytest.raises(InvalidAmount):
        to_stripe(1_234, "KWD")
    assert from_stripe(500_00, "isk").amount == 500 and from_stripe(3000, "jpy").currency == "JPY"
    with pytest.raises(InvalidAmount):
        from_stripe(40_10, "isk")


class Recording(stripe.RequestsClient):
    """The SDK's own HTTP client, keeping what was sent."""

    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.sent: list[tuple[str, str, dict[str, str], str]] = []

    def request(self, method: str, url: str, headers: Any, post_data: Any = None) -> Any:
        self.sent.append((method, url, dict(headers or {}), str(post_data or "")))
        return super().request(method, url, headers, post_data)


def test_start_creates_a_card_intent_under_our_idempotency_key(local: StripePeer) -> None:
    http = Recording()
    client = stripe.StripeClient(SECRET_KEY, base_addresses={"api": local.url}, http_client=http)
    provider = StripeProvider(client, publishable_key=PUBLISHABLE_KEY,
                              webhook_secrets=[WEBHOOK_SECRET], test_mode=True)
    started = provider.start(PaymentRequest(42, 100_00, "CNY", "Top-up 100.00 CNY", "order-42"))
    method, url, headers, body = http.sent[-1]
    assert (method, url) == ("post", f"{local.url}/v1/payment_intents")
    assert headers["Idempotency-Key"] == "topup:order-42"
    form = dict(p.split("=", 1) for p in body.split("&"))
    assert form["amount"] == "10000" and form["currency"] == "cny"
    assert form["allowed_payment_method_types[0]"] == "card"
    assert form["metadata[order_id]"] == "42"
    assert started.provider_ref.startswith("pi_")
    assert started.next_action.kind == "client_secret"
    assert str(started.next_action.value).startswith(f"{started.provider_ref}_secret_")
    assert started.next_action.extra == {"publishable_key": PUBLISHABLE_KEY}
    assert local.intent(started.provider_ref)["amount"] == 100_00


def test_events_that_move_no_order_are_acknowledged(provider: StripeProvider,
                                                    local: StripePeer) -> None:
    started = provider.start(PaymentRequest(7, 50_00, "CNY", "Top-up", "order-7"))
    intent = local.intent(started.provider_ref)
    for kind in ("payment_intent.created", "charge.refunded", "customer.created"):
        body = event_body(kind, intent)
        note = provider.parse_notification(sign(body, WEBHOOK_SECRET), body)
        assert note.status is None and note.ack.status_code == 200
    live = json.loads(event_body("payment_intent.succeeded", intent))
    live["livemode"] = True
    body = json.dumps(live).encode()
    assert provider.parse_notification(sign(body, WEBHOOK_SECRET), body).status is None
    body = event_body("payment_intent.processing", intent)
    note = provider.parse_notification({"STRIPE-SIGNATURE": sign(body, OLD_SECRET)[
        "Stripe-Signature"]}, body)
    assert note.status is not None and note.status.state == "pending", "rolled secret accepted"
    assert (note.status.amount, note.status.currency) == (50_00, "CNY")
    with pytest.raises(InvalidNotification):
        provider.parse_notification({}, body)


def test_refund_in_part_and_in_full(provider: StripeProvider, local: StripePeer) -> None:
    started = provider.start(PaymentRequest(9, 100_00, "CNY", "Top-up", "order-9"))
    with pytest.raises(RefundFailed):
        provider.refund(started.provider_ref, 10_00, "CNY", "refund-unpaid")
    assert local.pay(started.provider_ref).json()["status"] == "succeeded"
    part = provider.refund(started.provider_ref, 30_00, "CNY", "refund-9-1")
    assert (part.provider_ref, part.amount, part.currency, part.state) == (
        started.provider_ref, 30_00, "CNY", "succeeded")
    assert part.refund_ref.startswith("re_")
    rest = provider.refund(started.provider_ref, 70_00, "CNY", "refund-9-2")
    assert rest.amount == 70_00 and rest.refund_ref != part.refund_ref
    with pytest.raises(RefundFailed):
        provider.refund("pi_does_not_exist", 10_00, "CNY", "refund-ghost")


def test_unreachable_stripe_is_provider_unavailable(local: StripePeer) -> None:
    dead = build(env_for(local, TOPUP_STRIPE_API_BASE="http://127.0.0.1:9"))
    with pytest.raises(ProviderUnavailable):
        dead.start(PaymentRequest(1, 100_00, "CNY", "Top-up", "order-1"))
    with pytest.raises(ProviderUnavailable):
        dead.query("pi_anything")
    live = build(env_for(local))
    with pytest.raises(ProviderUnavailable):
        live.query("pi_does_not_exist")


# --- through our API, on SQLite and PostgreSQL ------------------------------------------------

def test_topup_paid_by_card_is_credited_once_however_often_stripe_says_so(
        shop: tuple[Api, dict[str, str], int], local: StripePeer) -> None:
    api, me, line_id = shop
    o = order(api, me, "card-1", line_id=line_id, kind="topup", amount=100_00)
    assert o["state"] == "awaiting_payment" and o["amount"] == 100_00
    assert o["next_action"]["kind"] == "client_secret"
    assert re.fullmatch(r"pi_\w+_secret_\w+", o["next_action"]["value"])
    assert local.intent(intent_of(o))["metadata"] == {"order_id": str(o["id"])}

    assert local.pay(intent_of(o)).json()["status"] == "succeeded"
    paid = local.delivery("payment_intent.succeeded", intent_of(o))
    r = forward(api, paid)
    assert (r.status_code, r.text) == (200, ACK_BODY)
    assert r.headers["content-type"].startswith("application/json")
    assert state(api, me, o) == "fulfilled"
    assert balance(api, me, line_id) == 100_00

    for _ in range(100):
        r = forward(api, paid)
        assert (r.status_code, r.text) == (200, ACK_BODY)
    assert balance(api, me, line_id) == 100_00


def test_plan_bought_by_card_lands_in_a_bucket(
        shop: tuple[Api, dict[str, str], int], local: StripePeer) -> None:
    api, me, line_id = shop
    plans = api.client.get("/api/v1/plans", params={"country": "TH", "currency": "CNY"}).json()
    week = next(p for p in plans if p["code"] == "TH-7D-10GB")
    o = order(api, me, "card-plan-1", line_id=line_id, kind="plan", plan_id=week["id"])
    assert o["state"] == "awaiting_payment" and o["amount"] == week["prices"]["CNY"]
    assert local.intent(intent_of(o))["amount"] == week["prices"]["CNY"]
    local.pay(intent_of(o))
    r = forward(api, local.delivery("payment_intent.succeeded", intent_of(o)))
    assert (r.status_code, r.text) == (200, ACK_BODY)
    assert state(api, me, o) == "fulfilled"
    detail = api.client.get(f"/api/v1/lines/{line_id}", headers=me).json()
    assert len(detail["buckets"]) == 1 and detail["status"] == "active"
    assert balance(api, me, line_id) == 0, "the payment went straight into the plan"


def test_notifications_out_of_order_credit_exactly_once(
        shop: tuple[Api, dict[str, str], int], local: StripePeer) -> None:
    api, me, line_id = shop
    first = order(api, me, "card-ooo-1", line_id=line_id, kind="topup", amount=100_00)
    second = order(api, me, "card-ooo-2", line_id=line_id, kind="topup", amount=50_00)
    early = int(time.time()) - 60
    pending = event_body("payment_intent.processing", local.intent(intent_of(first)),
                         created=early)
    r = deliver(api, pending, sign(pending, WEBHOOK_SECRET))
    assert r.status_code == 200 and state(api, me, first) == "awaiting_payment"
    for o in (first, second):
        local.pay(intent_of(o))
    for o in (first, second):
        assert forward(api, local.delivery("payment_intent.succeeded",
                                           intent_of(o))).status_code == 200
    for o in (first, second):
        intent = local.intent(intent_of(o))
        for kind in ("payment_intent.processing", "payment_intent.payment_failed",
                     "payment_intent.canceled"):
            late = event_body(kind, intent, created=early)
            assert deliver(api, late, sign(late, WEBHOOK_SECRET)).status_code == 200
        assert state(api, me, o) == "fulfilled"
    assert forward(api, local.delivery("payment_intent.succeeded",
                                       intent_of(first))).status_code == 200
    assert balance(api, me, line_id) == 150_00


def test_forged_altered_stale_and_unsigned_notifications_credit_nothing(
        shop: tuple[Api, dict[str, str], int], local: StripePeer) -> None:
    api, me, line_id = shop
    o = order(api, me, "card-forge-1", line_id=line_id, kind="topup", amount=100_00)
    local.pay(intent_of(o))
    paid = local.delivery("payment_intent.succeeded", intent_of(o))
    body, headers = paid.body, paid.forward_headers()
    now = int(time.time())
    forged = {**headers, **sign(body, "whsec_not_ours")}
    altered = body.replace(b'"amount": 10000', b'"amount": 99900')
    assert altered != body
    attempts = [
        (body, forged),
        (altered, headers),
        (body, sign(body, WEBHOOK_SECRET, at=now - 301)),
        (body, sign(body, WEBHOOK_SECRET, at=now + 3600)),
        (body, {"Content-Type": "application/json"}),
        (body, {**headers, "Stripe-Signature": "t=abc,v1=00"}),
    ]
    for content, hdrs in attempts:
        r = deliver(api, content, hdrs)
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "invalid_notification"
    assert state(api, me, o) == "awaiting_payment" and balance(api, me, line_id) == 0
    r = deliver(api, body, sign(body, WEBHOOK_SECRET, at=now - 290))
    assert r.status_code == 200, "a signature inside the 300 s tolerance is accepted"
    assert balance(api, me, line_id) == 100_00


def test_declined_card_fails_the_order(
        shop: tuple[Api, dict[str, str], int], local: StripePeer) -> None:
    api, me, line_id = shop
    o = order(api, me, "card-declined-1", line_id=line_id, kind="topup", amount=100_00)
    assert local.pay(intent_of(o), number="4000000000000341").status_code == 402
    r = forward(api, local.delivery("payment_intent.payment_failed", intent_of(o)))
    assert (r.status_code, r.text) == (200, ACK_BODY)
    assert state(api, me, o) == "failed" and balance(api, me, line_id) == 0


def test_paid_order_without_a_notification_is_settled_by_the_status_query(
        catalogue: Database, provider: StripeProvider, local: StripePeer) -> None:
    api = Api(catalogue, {"stripe": provider})
    line = make_line(catalogue, currency="JPY", country="JP", secret="1414")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "1414"})
    o = order(api, me, "card-jpy-1", line_id=line.id, kind="topup", amount=3000)
    assert o["currency"] == "JPY" and local.intent(intent_of(o))["amount"] == 3000
    providers: dict[str, PaymentProvider] = {"stripe": provider}
    nothing = reconcile(catalogue, providers, older_than=timedelta(0))
    assert (nothing.checked, nothing.settled, nothing.errors) == (1, 0, 0)
    assert provider.query(intent_of(o)).state == "pending"

    local.pay(intent_of(o))
    status = provider.query(intent_of(o))
    assert (status.state, status.amount, status.currency) == ("succeeded", 3000, "JPY")
    assert status.method_detail == "visa 4242"
    result = reconcile(catalogue, providers, older_than=timedelta(0))
    assert (result.checked, result.settled) == (1, 1)
    assert state(api, me, o) == "fulfilled" and balance(api, me, line.id) == 3000
    assert reconcile(catalogue, providers, older_than=timedelta(0)).checked == 0


def _text_of(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


def test_no_card_number_or_cvc_reaches_our_database_or_logs(
        shop: tuple[Api, dict[str, str], int], local: StripePeer, catalogue: Database,
        provider: StripeProvider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api, me, line_id = shop
    o = order(api, me, "card-pan-1", line_id=line_id, kind="topup", amount=100_00)
    assert local.pay(intent_of(o), number=CARD, cvc=CVC).json()["status"] == "succeeded"
    assert forward(api, local.delivery("payment_intent.succeeded",
                                       intent_of(o))).status_code == 200
    reconcile(catalogue, {"stripe": provider}, older_than=timedelta(0))
    assert provider.query(intent_of(o)).method_detail == "visa 4242"
    assert state(api, me, o) == "fulfilled"

    spaced = " ".join(CARD[i:i + 4] for i in range(0, 16, 4))
    forbidden = re.compile(rf"{CARD}|{spaced}|\bcvc\b|\bcvv\b|(?<![\w.]){CVC}(?![\w.])",
                           re.IGNORECASE)
    engine = catalogue.engine
    tables = inspect(engine).get_table_names()
    assert "orders" in tables and len(tables) > 10
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                for value in row:
                    hit = forbidden.search(_text_of(value))
                    assert hit is None, f"{table} holds card data: {hit.group()!r}"
    logged = caplog.text + "".join(repr(r.args) for r in caplog.records)
    assert caplog.records, "the logs were captured"
    hit = forbidden.search(logged)
    assert hit is None, f"the logs hold card data: {hit.group()!r}"
