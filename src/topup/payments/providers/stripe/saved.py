"""Saved cards for auto-renew through Stripe: a Customer, a SetupIntent, off-session charges.

``begin_saving`` creates (or reuses) the payer's Customer and a SetupIntent with
``usage=off_session``; the payer's browser confirms it with Stripe.js, so the card goes to
Stripe only. ``finish_saving`` reads back the PaymentMethod's id, brand and last 4.
``charge_saved`` confirms the order's own PaymentIntent off-session with the saved method (or
creates a confirmed one), so one order is one PaymentIntent: it can succeed only once, and its
webhooks, status queries and refunds keep working unchanged. ``detach`` forgets the card.

Failures cross the SDK boundary through ``boundary.stripe_call``: a card error (a decline,
``authentication_required`` off-session) becomes a ``failed`` PaymentStatus; anything else is
``ProviderUnavailable``.
"""

from __future__ import annotations

from typing import Any

import stripe

from topup.payments.errors import PaymentDeclined, ProviderUnavailable
from topup.payments.interfaces import PaymentRequest, PaymentStatus
from topup.payments.providers.stripe import client_for
from topup.payments.providers.stripe.amounts import to_stripe
from topup.payments.providers.stripe.boundary import stripe_call
from topup.payments.providers.stripe.events import card_detail, intent_status
from topup.payments.providers.stripe.provider import DESCRIPTION_MAX
from topup.payments.registry import ProviderContext
from topup.payments.saved.interfaces import SavedMethod, SetupStart

USER_KEY = "topup_user"
# Off-session nobody can act: anything but success or processing is a failed charge.
OFF_SESSION_STATES = {"succeeded": "succeeded", "processing": "pending"}


class StripeSavedMethods:
    """Implements ``SavesMethods`` with the ``stripe`` SDK."""

    name = "stripe"

    def __init__(self, client: stripe.StripeClient, *, publishable_key: str,
                 idempotency_prefix: str = "topup") -> None:
        self._client = client
        self.publishable_key = publishable_key
        self._prefix = idempotency_prefix

    def _options(self, key: str) -> Any:
        return {"idempotency_key": f"{self._prefix}:{key}"[:255]}

    def begin_saving(self, user_ref: str, existing_customer_ref: str | None) -> SetupStart:
        """A SetupIntent (card, off-session) for the payer's Customer, created if needed."""
        with stripe_call("create SetupIntent"):
            customer = existing_customer_ref or str(self._client.v1.customers.create(
                params={"metadata": {USER_KEY: user_ref}},
                options=self._options(f"customer-{user_ref}")).id)
            setup = self._client.v1.setup_intents.create(params={
                "customer": customer, "usage": "off_session",
                "allowed_payment_method_types": ["card"],
                "metadata": {USER_KEY: user_ref},
            })
            ref, secret = str(setup.id), setup.client_secret
        if not secret:
            raise ProviderUnavailable(f"Stripe gave SetupIntent {ref} no client secret")
        return SetupStart(customer, ref, secret, {"publishable_key": self.publishable_key})

    def finish_saving(self, setup_ref: str) -> SavedMethod:
        """The card a succeeded SetupIntent saved, attached to its Customer."""
        with stripe_call("retrieve SetupIntent"):
            setup = self._client.v1.setup_intents.retrieve(setup_ref).to_dict()
            customer, method = str(setup["customer"] or ""), setup["payment_method"]
            method_ref = str(method["id"] if isinstance(method, dict) else method or "")
            user_ref = str((setup.get("metadata") or {}).get(USER_KEY, ""))
        if setup.get("status") != "succeeded" or not (customer and method_ref and user_ref):
            raise PaymentDeclined("the card was not saved: its setup is not complete")
        with stripe_call("attach PaymentMethod"):
            card = self._client.v1.payment_methods.retrieve(method_ref).to_dict()
            owner = card.get("customer")
            if owner is None:  # Stripe attaches on success; localstripe does not
                card = self._client.v1.payment_methods.attach(
                    method_ref, params={"customer": customer}).to_dict()
            elif owner != customer:
                raise PaymentDeclined("that card belongs to another customer")
        detail = card_detail({"payment_method": card})
        brand, last4 = detail.split(" ") if detail else (None, None)
        return SavedMethod(user_ref, customer, method_ref, brand, last4)

    def charge_saved(self, request: PaymentRequest, customer_ref: str, method_ref: str,
                     intent_ref: str | None = None) -> PaymentStatus:
        """Charge off-session; a card error is a ``failed`` status, not an exception."""
        try:
            with stripe_call("charge saved card"):
                if intent_ref is None:
                    intent = self._create_confirmed(request, customer_ref, method_ref)
                else:
                    intent = self._confirm_existing(request, customer_ref, method_ref,
                                                    intent_ref)
                data = intent.to_dict()
                return intent_status(data, OFF_SESSION_STATES.get(str(data["status"]),
                                                                  "failed"))
        except PaymentDeclined as exc:
            ref = intent_ref or _declined_intent(exc)
            return PaymentStatus(ref, "failed", request.amount, request.currency)

    def _create_confirmed(self, request: PaymentRequest, customer_ref: str,
                          method_ref: str) -> Any:
        amount, currency = to_stripe(request.amount, request.currency)
        return self._client.v1.payment_intents.create(params={
            "amount": amount, "currency": currency, "customer": customer_ref,
            "payment_method": method_ref, "confirm": True, "off_session": True,
            "allowed_payment_method_types": ["card"],
            "description": request.description[:DESCRIPTION_MAX],
            "metadata": {"order_id": str(request.order_id)},
        }, options=self._options(request.idempotency_key))

    def _confirm_existing(self, request: PaymentRequest, customer_ref: str, method_ref: str,
                          intent_ref: str) -> Any:
        self._client.v1.payment_intents.update(intent_ref, params={
            "customer": customer_ref, "payment_method": method_ref,
        }, options=self._options(f"{request.idempotency_key}:method"))
        return self._client.v1.payment_intents.confirm(
            intent_ref, params={"off_session": True},
            options=self._options(request.idempotency_key))

    def detach(self, method_ref: str) -> None:
        """Detach the PaymentMethod from its Customer: Stripe will not charge it again."""
        with stripe_call("detach PaymentMethod"):
            self._client.v1.payment_methods.detach(method_ref)


def _declined_intent(exc: PaymentDeclined) -> str:
    """The PaymentIntent a card error names, when Stripe said (it does off-session)."""
    cause = exc.__cause__
    error = getattr(cause, "error", None) if isinstance(cause, stripe.StripeError) else None
    intent = getattr(error, "payment_intent", None)
    found = intent.get("id") if isinstance(intent, dict) else getattr(intent, "id", None)
    return str(found or "")


def from_settings(ctx: ProviderContext) -> StripeSavedMethods:
    """Build it from the same ``TOPUP_STRIPE_*`` settings as the payment provider."""
    prefix = ctx.env.get("TOPUP_STRIPE_IDEMPOTENCY_PREFIX", "").strip() or "topup"
    return StripeSavedMethods(client_for(ctx, ctx.require("TOPUP_STRIPE_SECRET_KEY")),
                              publishable_key=ctx.require("TOPUP_STRIPE_PUBLISHABLE_KEY"),
                              idempotency_prefix=prefix)
