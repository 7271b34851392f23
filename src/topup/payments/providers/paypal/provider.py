"""PayPal Checkout (Orders v2) as a topup payment provider.

The flow: ``start`` creates a PayPal order (intent CAPTURE) and sends the payer to its
approval link; once the payer approved, the order must be **captured** or no money moves.
We capture in two places, both idempotent (``PayPal-Request-Id: capture-<order id>``):

- the ``CHECKOUT.ORDER.APPROVED`` webhook, and
- ``query`` (what reconciliation calls) when it finds the order APPROVED,

so a payer who approved is charged even when every webhook is lost. ``PAYMENT.CAPTURE.
COMPLETED`` settles the order, ``PAYMENT.CAPTURE.DENIED``/``DECLINED`` fails it; every other
event is acknowledged and ignored. ``provider_ref`` is always the PayPal order id.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from topup.payments.errors import (
    InvalidNotification,
    PaymentDeclined,
    ProviderUnavailable,
    RefundFailed,
)
from topup.payments.interfaces import (
    Ack,
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
)
from topup.payments.providers.paypal import resources as res
from topup.payments.providers.paypal.client import OrderSpec, PayPalClient, PayPalRefused
from topup.payments.providers.paypal.signature import WebhookVerifier

log = logging.getLogger("topup.payments.paypal")

# Capture events: what the capture's outcome means for the order it belongs to.
CAPTURE_EVENTS = {"PAYMENT.CAPTURE.COMPLETED": "succeeded", "PAYMENT.CAPTURE.PENDING": "pending",
                  "PAYMENT.CAPTURE.DENIED": "failed", "PAYMENT.CAPTURE.DECLINED": "failed"}
APPROVED_EVENT = "CHECKOUT.ORDER.APPROVED"
# Capture refusals after which the payer may still pay (choose another funding source).
RETRYABLE_ISSUES = frozenset({"INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED",
                              "ORDER_NOT_APPROVED"})
LOCALE = re.compile(r"^[a-z]{2}(?:-[A-Z][a-z]{3})?(?:-(?:[A-Z]{2}|[0-9]{3}))?$")
OK = Ack(200, "", "text/plain")


class PaypalProvider:
    """Payments through PayPal Checkout; ``test_mode`` means PayPal's sandbox."""

    name = "paypal"
    currencies: frozenset[str] | None = None

    def __init__(self, client: PayPalClient, verifier: WebhookVerifier, *,
                 test_mode: bool, invoice_prefix: str = "") -> None:
        self.test_mode = test_mode
        self._client = client
        self._verifier = verifier
        self._prefix = invoice_prefix

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create the PayPal order and hand back its approval link (a redirect)."""
        spec = OrderSpec(
            value=res.paypal_value(request.amount, request.currency),
            currency=request.currency, custom_id=str(request.order_id),
            invoice_id=f"{self._prefix}{request.order_id}", description=request.description,
            return_url=request.return_url, cancel_url=request.return_url,
            locale=request.language if LOCALE.match(request.language or "") else None)
        try:
            order = self._client.create_order(spec, f"{self._prefix}{request.idempotency_key}")
        except PayPalRefused as exc:
            raise PaymentDeclined(f"PayPal refused the order: {exc.issue or exc.detail}",
                                  issue=exc.issue) from exc
        return PaymentStart(res.order_id(order), NextAction("redirect", res.approve_link(order)))

    def query(self, provider_ref: str) -> PaymentStatus:
        """Where the order stands; an approved order is captured first (idempotently)."""
        order: Mapping[str, Any] = self._client.get_order(provider_ref)
        if order.get("status") == "APPROVED":
            order = self._capture(provider_ref, order)
        return res.order_status(order)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify the transmission over the raw body, then read the event."""
        self._verifier.verify(headers, body)
        event = _event(body)
        event_id = str(event.get("id") or "")
        kind = str(event.get("event_type") or "")
        resource = event.get("resource")
        if not isinstance(resource, Mapping):
            return Notification(event_id, None, OK)
        if kind in CAPTURE_EVENTS:
            return Notification(event_id, res.capture_status(resource, CAPTURE_EVENTS[kind]), OK)
        if kind == APPROVED_EVENT and resource.get("intent", "CAPTURE") == "CAPTURE":
            ref = res.order_id(resource)
            return Notification(event_id, res.order_status(self._capture(ref, resource)), OK)
        return Notification(event_id, None, OK)

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Refund ``amount`` of the order's capture (``POST /v2/payments/captures/…/refund``)."""
        order = self._client.get_order(provider_ref)
        done = [c for c in res.captures(order)
                if res.CAPTURE_STATES.get(str(c.get("status"))) == "succeeded"]
        if not done:
            raise RefundFailed("the PayPal order has no completed capture to refund")
        capture = done[-1]
        captured, captured_currency = res.amount_of(capture)
        if currency != captured_currency or not 0 < amount <= captured:
            raise RefundFailed(f"cannot refund {amount} {currency} of {captured} "
                               f"{captured_currency}")
        try:
            value = res.paypal_value(amount, currency)
        except PaymentDeclined as exc:
            raise RefundFailed(exc.detail) from exc
        try:
            answer = self._client.refund_capture(str(capture.get("id")), value, currency,
                                                 f"{self._prefix}{idempotency_key}")
        except PayPalRefused as exc:
            raise RefundFailed(f"PayPal refused the refund: {exc.issue or exc.detail}",
                               issue=exc.issue) from exc
        return _refund_of(provider_ref, answer, amount, currency)

    def _capture(self, ref: str, seen: Mapping[str, Any]) -> Mapping[str, Any]:
        """Capture an approved order once; a refused capture leaves it as it was seen."""
        try:
            return self._client.capture_order(ref, f"{self._prefix}capture-{ref}")
        except PayPalRefused as exc:
            if exc.issue == "ORDER_ALREADY_CAPTURED":
                return self._client.get_order(ref)
            if exc.issue in RETRYABLE_ISSUES:
                log.info("PayPal order %s not captured yet: %s", ref, exc.issue)
                return {**seen, "status": "PAYER_ACTION_REQUIRED"}
            raise PaymentDeclined(f"PayPal refused the capture: {exc.issue or exc.detail}",
                                  issue=exc.issue) from exc


def _event(body: bytes) -> Mapping[str, Any]:
    try:
        event = json.loads(body)
    except ValueError as exc:
        raise InvalidNotification("PayPal event is not JSON") from exc
    if not isinstance(event, Mapping):
        raise InvalidNotification("PayPal event is not a JSON object")
    return event


def _refund_of(ref: str, answer: Mapping[str, Any], amount: int, currency: str) -> Refund:
    status = str(answer.get("status") or "")
    refund_id = answer.get("id")
    if status in ("CANCELLED", "FAILED"):
        raise RefundFailed(f"PayPal refund {refund_id} {status.lower()}")
    if not isinstance(refund_id, str) or not refund_id:
        raise ProviderUnavailable("PayPal refund without an id")
    if "amount" in answer:
        amount, currency = res.amount_of(answer)
    return Refund(ref, refund_id, amount, currency,
                  "succeeded" if status == "COMPLETED" else "pending")
