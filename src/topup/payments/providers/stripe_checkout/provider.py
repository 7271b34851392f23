"""Card payments on Stripe's hosted payment page (Checkout Sessions), with the ``stripe`` SDK.

``start`` creates a Checkout Session for the order's total (our order id as its
``client_reference_id`` and metadata, our idempotency key as Stripe's ``Idempotency-Key``) and
sends the payer to its ``url``: the card is typed into Stripe's own page and never reaches
this server. When the payer asked to keep the card, the Session names the payer's Stripe
Customer (created once) and sets ``payment_intent_data.setup_future_usage=off_session``:
Stripe then keeps the card on that Customer, and the settled payment reports it
(``PaymentStatus.kept``) for the ``stripe`` saver to charge off-session later (auto-renew,
automatic top-up). Stripe reports the outcome by signed ``checkout.session.*`` webhooks,
verified over the raw body before anything is read; ``query`` retrieves the Session (the
fallback, and what a completed event is checked against); ``refund`` refunds its
PaymentIntent.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import stripe

from topup.errors import InvalidInput
from topup.payments.errors import InvalidNotification, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import (
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
    SaveFor,
)
from topup.payments.providers.stripe import signature
from topup.payments.providers.stripe.amounts import to_stripe
from topup.payments.providers.stripe.boundary import stripe_call
from topup.payments.providers.stripe.events import ACK
from topup.payments.providers.stripe.provider import refund_intent
from topup.payments.providers.stripe.saved import USER_KEY
from topup.payments.providers.stripe_checkout import sessions

log = logging.getLogger("topup.payments.stripe")

# Stripe accepts an ``expires_at`` 30 minutes to 24 hours ahead.
MIN_MINUTES, MAX_MINUTES = 30, 23 * 60


class StripeCheckoutProvider:
    """The ``stripe_checkout`` payment method: cards on Stripe's hosted page."""

    name = "stripe_checkout"
    saves_with = "stripe"  # the SavesMethods that charges the cards kept here
    currencies: frozenset[str] | None = None

    def __init__(self, client: stripe.StripeClient, *, webhook_secrets: Sequence[str],
                 test_mode: bool, idempotency_prefix: str = "topup",
                 expires_minutes: int = MIN_MINUTES,
                 tolerance: int = signature.DEFAULT_TOLERANCE_SECONDS,
                 clock: Callable[[], float] = time.time) -> None:
        if not webhook_secrets:
            raise ValueError("at least one Stripe webhook secret is needed")
        if not MIN_MINUTES <= expires_minutes <= MAX_MINUTES:
            raise ValueError(f"a Checkout Session lasts {MIN_MINUTES} to {MAX_MINUTES} minutes")
        self._client = client
        self._secrets = tuple(webhook_secrets)
        self.test_mode = test_mode
        self._prefix = idempotency_prefix
        self._minutes = expires_minutes
        self._tolerance = tolerance
        self._clock = clock

    def _options(self, key: str) -> Any:
        return {"idempotency_key": f"{self._prefix}:{key}"[:255]}

    def _expires_at(self) -> int:
        # On the minute, so that a retry within it sends the very same parameters (Stripe
        # compares them under one idempotency key); two spare minutes for clocks and transit.
        return (int(self._clock()) // 60 + self._minutes + 2) * 60

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create (or, on a retry with the same key, get back) the order's Session."""
        amount, currency = to_stripe(request.amount, request.currency)
        with stripe_call("create Checkout Session", declines=True):
            customer = self._customer(request.save_for)
            params: Any = sessions.create_params(request, amount, currency, customer,
                                                 self._expires_at())
            session = self._client.v1.checkout.sessions.create(
                params=params, options=self._options(request.idempotency_key))
            ref, url = str(session.id), session.url
        if not url:
            raise ProviderUnavailable(f"Stripe gave Checkout Session {ref} no URL")
        return PaymentStart(ref, NextAction("redirect", url))

    def _customer(self, save_for: SaveFor | None) -> str | None:
        """The payer's Stripe Customer when the card is to be kept: the one we know, else a
        new one under the same key the ``stripe`` saver uses for it."""
        if save_for is None:
            return None
        if save_for.customer_ref:
            return save_for.customer_ref
        return str(self._client.v1.customers.create(
            params={"metadata": {USER_KEY: save_for.user_ref}},
            options=self._options(f"customer-{save_for.user_ref}")).id)

    def _session(self, session_ref: str) -> dict[str, Any]:
        return dict(self._client.v1.checkout.sessions.retrieve(
            session_ref, params={"expand": sessions.EXPAND}).to_dict())

    def query(self, provider_ref: str) -> PaymentStatus:
        """Retrieve the Session with its PaymentIntent, charge and card; where it stands."""
        with stripe_call("retrieve Checkout Session"):
            return sessions.session_status(self._session(provider_ref), self.saves_with)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify ``Stripe-Signature`` over the raw body, then read the event: only our own
        Sessions' ``checkout.session.*`` events move an order."""
        signature.verify(body, signature.signature_header(headers), self._secrets,
                         self._tolerance)
        try:
            event: Any = json.loads(body)
            event_id, kind = str(event["id"]), str(event["type"])
            session = event["data"]["object"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidNotification("signed body is not a Stripe event") from exc
        action = sessions.EVENTS.get(kind)
        if (action is None or not isinstance(session, Mapping)
                or not sessions.is_ours(session)
                or bool(event.get("livemode")) != (not self.test_mode)):
            return Notification(event_id, None, ACK)
        if action == "fetch":
            if kind.endswith(".completed") and session.get("payment_status") != "paid":
                return Notification(event_id, None, ACK)  # async: its own event follows
            # A Stripe that cannot be asked now answers 502: Stripe delivers the event again.
            return Notification(event_id, self.query(str(session["id"])), ACK)
        try:
            status = sessions.session_status(session, self.saves_with, "failed")
        except (KeyError, TypeError, ValueError, InvalidInput):
            log.warning("ignoring Stripe event %s: no usable amount or currency", event_id)
            return Notification(event_id, None, ACK)
        return Notification(event_id, status, ACK)

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Refund ``amount`` (all or part) of the Session's PaymentIntent, once per key."""
        with stripe_call("retrieve Checkout Session", refund=True):
            intent = self._client.v1.checkout.sessions.retrieve(provider_ref).payment_intent
        intent_ref = intent if isinstance(intent, str) else getattr(intent, "id", None)
        if not intent_ref:
            raise RefundFailed(f"Stripe Checkout Session {provider_ref} took no payment")
        return refund_intent(self._client, provider_ref, str(intent_ref), amount, currency,
                             self._options(idempotency_key)["idempotency_key"])
