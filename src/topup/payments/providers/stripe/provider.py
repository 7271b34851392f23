"""Card payments through Stripe PaymentIntents, with the official ``stripe`` SDK.

The flow: ``start`` creates a PaymentIntent (card only, amount in Stripe's units, our order id
in its metadata, our idempotency key as Stripe's ``Idempotency-Key``) and hands the payer's app
the intent's ``client_secret`` and our publishable key. The payer types the card into Stripe's
own Payment Element, which confirms the intent straight with Stripe: no card number, expiry or
CVC ever reaches this server. Stripe then reports the outcome by a signed webhook, which
``parse_notification`` verifies over the raw body before reading it; ``query`` is the fallback
when no webhook comes, and ``refund`` gives money back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import stripe

from topup.money import Money
from topup.payments.errors import InvalidNotification, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import (
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
)
from topup.payments.providers.stripe import events, signature
from topup.payments.providers.stripe.amounts import from_stripe, to_stripe
from topup.payments.providers.stripe.boundary import stripe_call

REFUND_STATES = {"succeeded": "succeeded", "pending": "pending", "requires_action": "pending"}
DESCRIPTION_MAX = 500  # ours are plan names; keep them well inside Stripe's limits


class StripeProvider:
    """The ``stripe`` payment method: cards, via PaymentIntents and Stripe Elements."""

    name = "stripe"
    currencies: frozenset[str] | None = None

    def __init__(self, client: stripe.StripeClient, *, publishable_key: str,
                 webhook_secrets: Sequence[str], test_mode: bool,
                 idempotency_prefix: str = "topup",
                 tolerance: int = signature.DEFAULT_TOLERANCE_SECONDS) -> None:
        if not webhook_secrets:
            raise ValueError("at least one Stripe webhook secret is needed")
        self._client = client
        self.publishable_key = publishable_key
        self._secrets = tuple(webhook_secrets)
        self.test_mode = test_mode
        self._prefix = idempotency_prefix
        self._tolerance = tolerance

    def _key(self, key: str) -> str:
        return f"{self._prefix}:{key}"[:255]

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create (or, on a retry with the same key, get back) the order's PaymentIntent."""
        amount, currency = to_stripe(request.amount, request.currency)
        with stripe_call("create PaymentIntent", declines=True):
            intent = self._client.v1.payment_intents.create(params={
                "amount": amount,
                "currency": currency,
                # Since API version 2026-09-30 (endive), the SDK's pinned version, the old
                # ``payment_method_types`` is refused; this is its replacement.
                "allowed_payment_method_types": ["card"],
                "description": request.description[:DESCRIPTION_MAX],
                "metadata": {"order_id": str(request.order_id)},
            }, options={"idempotency_key": self._key(request.idempotency_key)})
            ref, secret = str(intent.id), intent.client_secret
        if not secret:
            raise ProviderUnavailable(f"Stripe gave PaymentIntent {ref} no client secret")
        return PaymentStart(ref, NextAction("client_secret", secret,
                                            extra={"publishable_key": self.publishable_key}))

    def query(self, provider_ref: str) -> PaymentStatus:
        """Retrieve the PaymentIntent (with its charge and card) and say where it stands."""
        with stripe_call("retrieve PaymentIntent"):
            intent = self._client.v1.payment_intents.retrieve(
                provider_ref, params={"expand": ["latest_charge", "payment_method"]})
            return events.queried_status(intent.to_dict())

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify ``Stripe-Signature`` over the raw body, then read the event."""
        signature.verify(body, signature.signature_header(headers), self._secrets,
                         self._tolerance)
        try:
            event: Any = json.loads(body)
        except ValueError as exc:
            raise InvalidNotification("signed body is not JSON") from exc
        if not isinstance(event, dict):
            raise InvalidNotification("signed body is not a Stripe event")
        return events.notification(event, live=not self.test_mode)

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Refund ``amount`` (all or part) of the PaymentIntent, once per idempotency key."""
        return refund_intent(self._client, provider_ref, provider_ref, amount, currency,
                             self._key(idempotency_key))


def refund_intent(client: stripe.StripeClient, provider_ref: str, intent_ref: str, amount: int,
                  currency: str, key: str) -> Refund:
    """A Stripe Refund of ``amount`` of the PaymentIntent ``intent_ref`` under the idempotency
    key ``key``, reported as a refund of our payment ``provider_ref``."""
    value, _ = to_stripe(amount, currency)
    with stripe_call("create Refund", refund=True):
        made = client.v1.refunds.create(params={
            "payment_intent": intent_ref, "amount": value,
        }, options={"idempotency_key": key})
        state = REFUND_STATES.get(str(made.status))
        money = from_stripe(int(made.amount), str(made.currency))
    if state is None:
        raise RefundFailed(f"Stripe refund {made.id} is {made.status}")
    if money != Money(amount, currency):
        raise RefundFailed(f"Stripe refunded {money}, not {Money(amount, currency)}")
    return Refund(provider_ref, str(made.id), money.amount, money.currency, state)
