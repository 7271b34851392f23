"""Cards on Stripe's hosted page (``stripe_checkout``), against the local Stripe of
``stripe_checkout_peer`` on 127.0.0.1: the real SDK on the wire, Sessions made once per key,
the card typed on "Stripe's" page only, signed webhooks verified over the raw body and
settled once, expiry, the status query when no webhook comes, and refunds (keeping the card
for later: test_stripe_checkout_saved.py)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.integration.payments.checkout_support import (
    CARD,
    DECLINED,
    HOOK,
    WEBHOOK_SECRET,
    Adapters,
    Shop,
    ctx,
    env_for,
    forward,
    path_of,
)
from tests.integration.payments.stripe_checkout_peer import StripeCheckoutPeer, sign
from topup.orders.refunds import refund_order
from topup.payments import registry
from topup.payments.errors import InvalidNotification, ProviderUnavailable
from topup.payments.interfaces import KeepsMethods, PaymentProvider, PaymentRequest, SaveFor
from topup.payments.providers import stripe_checkout
from topup.payments.registry import ProviderConfigError
from topup.payments.service import reconcile


def request(order_id: int = 41, amount: int = 100_00, **extra: Any) -> PaymentRequest:
    return PaymentRequest(order_id, amount, "CNY", "Top-up 100.00 CNY", f"order-{order_id}",
                          return_url=f"http://127.0.0.1:9/pay/return/{order_id}?t=k", **extra)


# --- the provider on its own ------------------------------------------------------------

def test_it_conforms_and_reads_its_settings(checkout_peer: StripeCheckoutPeer) -> None:
    env = env_for(checkout_peer)
    built = registry.load(("stripe", "stripe_checkout"), ctx(env))["stripe_checkout"]
    assert isinstance(built, stripe_checkout.StripeCheckoutProvider)
    assert isinstance(built, PaymentProvider) and isinstance(built, KeepsMethods)
    assert (built.name, built.saves_with, built.test_mode) == ("stripe_checkout", "stripe", True)
    shared = {k: v for k, v in env.items() if k != "TOPUP_STRIPE_CHECKOUT_WEBHOOK_SECRETS"}
    assert stripe_checkout.from_settings(ctx(shared)).test_mode, "falls back to the shared one"
    for broken, named in (({"TOPUP_STRIPE_SECRET_KEY": ""}, "TOPUP_STRIPE_SECRET_KEY"),
                          ({"TOPUP_STRIPE_CHECKOUT_EXPIRES_MINUTES": "20"}, "EXPIRES_MINUTES"),
                          ({"TOPUP_STRIPE_CHECKOUT_EXPIRES_MINUTES": "soon"}, "EXPIRES")):
        with pytest.raises(ProviderConfigError, match=named):
            stripe_checkout.from_settings(ctx(env | broken))
    bare = {k: v for k, v in shared.items() if k != "TOPUP_STRIPE_WEBHOOK_SECRETS"}
    with pytest.raises(ProviderConfigError, match="TOPUP_STRIPE_WEBHOOK_SECRETS"):
        stripe_checkout.from_settings(ctx(bare))


def test_a_session_is_made_once_per_key_with_our_order_on_it(checkout_apis: Adapters) -> None:
    peer, checkout = checkout_apis.peer, checkout_apis.checkout
    before = time.time()
    first = checkout.start(request(language="zh-CN"))
    assert checkout.start(request(language="zh-CN")) == first, "a retry gets the same Session"
    assert first.next_action.kind == "redirect"
    assert first.next_action.value == f"{peer.url}/c/pay/{first.provider_ref}"
    made = peer.get(f"/v1/checkout/sessions/{first.provider_ref}")
    assert (made["mode"], made["status"], made["payment_status"]) == ("payment", "open", "unpaid")
    assert (made["amount_total"], made["currency"], made["locale"]) == (100_00, "cny", "zh")
    assert made["client_reference_id"] == "41" and made["metadata"] == {"order_id": "41"}
    assert made["success_url"] == made["cancel_url"] == "http://127.0.0.1:9/pay/return/41?t=k"
    assert made["customer"] is None and made["payment_intent"] is None
    assert before + 31 * 60 <= made["expires_at"] <= time.time() + 33 * 60
    assert [o["id"] for o in list(peer.world.objects.values())
            if o["object"] == "checkout.session"] == [first.provider_ref]
    with pytest.raises(ProviderUnavailable):  # same key, other parameters: Stripe refuses
        checkout.start(request(amount=90_00))
    assert checkout.start(request(42, language="en")).provider_ref != first.provider_ref


def test_saving_names_one_customer_and_keeps_the_card_off_session(checkout_apis: Adapters
                                                                  ) -> None:
    peer, checkout = checkout_apis.peer, checkout_apis.checkout

    def customer_of(ref: str) -> str:
        return str(peer.get(f"/v1/checkout/sessions/{ref}")["customer"])

    first = checkout.start(request(50, save_for=SaveFor("7")))
    made = peer.get(f"/v1/checkout/sessions/{first.provider_ref}")
    customer = peer.get(f"/v1/customers/{made['customer']}")
    assert customer["metadata"] == {"topup_user": "7"}
    assert made["metadata"] == {"order_id": "50", "topup_user": "7"}
    other = checkout.start(request(51, save_for=SaveFor("7")))
    known = checkout.start(request(52, save_for=SaveFor("7", customer["id"])))
    assert customer_of(other.provider_ref) == customer_of(known.provider_ref) == customer["id"]
    assert "keep-consent" in peer.http.get(f"/c/pay/{first.provider_ref}").text
    assert peer.pay(str(first.next_action.value)).status_code == 303
    status = checkout.query(first.provider_ref)
    assert (status.state, status.amount, status.currency) == ("succeeded", 100_00, "CNY")
    assert status.method_detail == "visa 4242"
    kept = status.kept
    assert kept is not None
    assert (kept.saver, kept.user_ref, kept.customer_ref) == ("stripe", "7", customer["id"])
    assert (kept.brand, kept.last4) == ("visa", "4242")
    card = peer.get(f"/v1/payment_methods/{kept.method_ref}")
    assert card["customer"] == customer["id"], "Stripe attached the card to the customer"
    plain = checkout.start(request(53))
    peer.pay(str(plain.next_action.value))
    assert checkout.query(plain.provider_ref).kept is None, "not asked: not kept"


def test_only_a_genuine_fresh_signature_is_read(checkout_apis: Adapters) -> None:
    peer, checkout = checkout_apis.peer, checkout_apis.checkout
    started = checkout.start(request(60))
    peer.pay(str(started.next_action.value))
    d = peer.delivery("checkout.session.completed", started.provider_ref)
    assert checkout.parse_notification(d.headers, d.body).status is not None
    now = int(time.time())
    for headers, body in (
            ({}, d.body),
            ({"Stripe-Signature": sign(d.body, "whsec_someone_else")}, d.body),
            ({"Stripe-Signature": sign(d.body, WEBHOOK_SECRET, now - 301)}, d.body),
            ({"Stripe-Signature": sign(d.body, WEBHOOK_SECRET, now + 400)}, d.body),
            (d.headers, d.body.replace(b'"paid"', b'"unpaid"')),
            (d.headers, d.body + b" ")):
        with pytest.raises(InvalidNotification):
            checkout.parse_notification(headers, body)


# --- orders through the API --------------------------------------------------------------

def test_paid_on_the_hosted_page_credits_once_however_often_stripe_tells(card_shop: Shop
                                                                         ) -> None:
    shop, peer = card_shop, card_shop.peer
    o = shop.order("co-1")
    url = str(o["next_action"]["value"])
    refused = peer.pay(url, number=DECLINED)
    assert refused.status_code == 200 and "Your card was declined." in refused.text
    assert shop.get(o).state == "awaiting_payment" and shop.balance() == 0
    paid = peer.pay(url, number=CARD)
    assert paid.status_code == 303
    assert path_of(paid.headers["location"]).startswith(f"/pay/return/{o['id']}?t=")
    session = shop.session_of(o)
    done = peer.delivery("checkout.session.completed", session)
    for _ in range(2):
        r = forward(shop.api.client, done)
        assert r.status_code == 200 and r.json() == {"received": True}
    assert shop.get(o).state == "fulfilled" and shop.balance() == 100_00
    # Stripe's other events about the same payment are verified, acknowledged, ignored.
    intent = str(peer.get(f"/v1/checkout/sessions/{session}")["payment_intent"])
    for kind in ("payment_intent.payment_failed", "payment_intent.succeeded"):
        assert forward(shop.api.client, peer.delivery(kind, intent)).status_code == 200
    assert shop.balance() == 100_00
    r = shop.api.client.get(f"/api/v1/orders/{o['id']}/receipt", headers=shop.me)
    assert r.status_code == 200 and "visa 4242" in r.text.lower()
    forged = shop.api.client.post(HOOK, content=done.body, headers={
        "Stripe-Signature": sign(done.body, "whsec_wrong")})
    assert forged.status_code == 400 and forged.json()["code"] == "invalid_notification"
    assert shop.api.client.get(path_of(paid.headers["location"])).status_code == 200


def test_an_expired_session_fails_the_order_and_its_page_closes(card_shop: Shop) -> None:
    shop, peer = card_shop, card_shop.peer
    o = shop.order("co-expire")
    session = shop.session_of(o)
    r = peer.http.post(f"/v1/checkout/sessions/{session}/expire")
    assert r.status_code == 200 and r.json()["status"] == "expired"
    again = peer.http.post(f"/v1/checkout/sessions/{session}/expire")
    assert again.status_code == 400 and again.json()["error"]["type"] == "invalid_request_error"
    gone = peer.delivery("checkout.session.expired", session)
    assert forward(shop.api.client, gone).status_code == 200
    assert shop.get(o).state == "failed" and shop.balance() == 0
    assert "no longer active" in peer.http.get(f"/c/pay/{session}").text
    assert shop.apis.checkout.query(session).state == "failed"


def test_without_a_webhook_the_query_settles_it(card_shop: Shop, clock: Any) -> None:
    shop = card_shop
    o = shop.order("co-quiet", amount=88_00)
    waiting = shop.order("co-waits", amount=66_00)
    shop.peer.pay(str(o["next_action"]["value"]), number="5555555555554444")
    clock.advance(minutes=5)
    result = reconcile(shop.db, shop.apis.providers)
    assert (result.checked, result.settled, result.errors) == (2, 1, 0)
    assert shop.get(o).state == "fulfilled" and shop.balance() == 88_00
    assert shop.get(waiting).state == "awaiting_payment"
    status = shop.apis.checkout.query(shop.session_of(o))
    assert status.method_detail == "mastercard 4444" and status.kept is None


def test_a_paid_order_is_refunded_through_its_payment_intent(card_shop: Shop) -> None:
    shop, peer = card_shop, card_shop.peer
    o = shop.order("co-refund")
    peer.pay(str(o["next_action"]["value"]))
    forward(shop.api.client, peer.delivery("checkout.session.completed", shop.session_of(o)))
    done = refund_order(shop.db, shop.apis.checkout, int(o["id"]), key="refund-co-1",
                        reason="changed plans", actor_id=None, amount=30_00)
    assert (done.state, done.amount) == ("succeeded", 30_00)
    assert str(done.provider_refund_ref).startswith("re_")
    assert shop.balance() == 70_00
    found = peer.get(f"/v1/checkout/sessions/{shop.session_of(o)}", "payment_intent",
                     "payment_intent.latest_charge")
    assert found["payment_intent"]["latest_charge"]["amount_refunded"] == 30_00


def test_what_is_not_ours_or_not_paid_yet_moves_nothing(checkout_apis: Adapters) -> None:
    checkout = checkout_apis.checkout
    started = checkout.start(request(70))
    ours = checkout_apis.peer.get(f"/v1/checkout/sessions/{started.provider_ref}")

    def told(kind: str, session: dict[str, Any], live: bool = False) -> Any:
        body = json.dumps({"id": "evt_local", "object": "event", "type": kind,
                           "livemode": live, "data": {"object": session}}).encode()
        return checkout.parse_notification({"Stripe-Signature": sign(body, WEBHOOK_SECRET)},
                                           body).status

    unpaid = ours | {"status": "complete", "payment_status": "unpaid"}
    assert told("checkout.session.completed", unpaid) is None, "an async payment follows"
    failed = told("checkout.session.async_payment_failed", unpaid)
    assert failed is not None and (failed.state, failed.amount) == ("failed", 100_00)
    assert told("checkout.session.expired", ours | {"metadata": {}}) is None, "not ours"
    assert told("checkout.session.expired", ours | {"client_reference_id": "71"}) is None
    assert told("checkout.session.expired", ours | {"mode": "setup"}) is None
    assert told("checkout.session.expired", ours, live=True) is None, "the other mode"
    assert told("checkout.session.expired", ours | {"amount_total": None}) is None
    assert told("customer.created", {"object": "customer", "id": "cus_1"}) is None
    gone = told("checkout.session.expired", ours | {"status": "expired"})
    assert gone is not None and gone.state == "failed"
