"""Reading Stripe's PaymentIntent objects and webhook events into topup's payment terms.

Only three events move an order: ``payment_intent.succeeded`` (fulfil),
``payment_intent.payment_failed`` (fail) and ``payment_intent.processing`` (still pending).
Every other event is verified, acknowledged and ignored (``status=None``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from topup.errors import InvalidInput
from topup.payments.errors import InvalidNotification
from topup.payments.interfaces import Ack, Notification, PaymentStatus
from topup.payments.providers.stripe.amounts import from_stripe

log = logging.getLogger("topup.payments.stripe")

# Stripe needs only a 2xx; the body is ignored, so say so plainly.
ACK = Ack(200, '{"received":true}', "application/json")

EVENT_STATES = {
    "payment_intent.succeeded": "succeeded",
    "payment_intent.payment_failed": "failed",
    "payment_intent.processing": "pending",
}

# A canceled PaymentIntent can never be paid; any other status may still become a payment.
INTENT_STATES = {"succeeded": "succeeded", "canceled": "failed"}

_LAST4 = re.compile(r"\d{4}")
_BRAND = re.compile(r"[a-z_]{2,20}")


def card_detail(intent: Mapping[str, Any]) -> str | None:
    """``"visa 4242"`` from the charge (or the expanded method), when Stripe gave one."""
    charge = intent.get("latest_charge")
    method = intent.get("payment_method")
    candidates = [
        ((charge.get("payment_method_details") or {}).get("card")
         if isinstance(charge, Mapping) else None),
        method.get("card") if isinstance(method, Mapping) else None,
    ]
    for card in candidates:
        if not isinstance(card, Mapping):
            continue
        brand, last4 = str(card.get("brand") or "").lower(), str(card.get("last4") or "")
        # Only a brand word and four digits ever leave this function.
        if _BRAND.fullmatch(brand) and _LAST4.fullmatch(last4):
            return f"{brand} {last4}"
    return None


def intent_status(intent: Mapping[str, Any], state: str) -> PaymentStatus:
    """A PaymentStatus for ``intent`` in ``state``, in topup's minor units."""
    money = from_stripe(int(intent["amount"]), str(intent["currency"]))
    detail = card_detail(intent) if state == "succeeded" else None
    return PaymentStatus(str(intent["id"]), state, money.amount, money.currency, detail)


def queried_status(intent: Mapping[str, Any]) -> PaymentStatus:
    """Where a retrieved PaymentIntent stands."""
    return intent_status(intent, INTENT_STATES.get(str(intent.get("status")), "pending"))


def notification(event: Mapping[str, Any], *, live: bool) -> Notification:
    """The Notification for a verified event; ``status`` is None unless it moves an order."""
    try:
        event_id, kind = str(event["id"]), str(event["type"])
        obj = event["data"]["object"]
    except (KeyError, TypeError) as exc:
        raise InvalidNotification("signed body is not a Stripe event") from exc
    state = EVENT_STATES.get(kind)
    if state is None or not isinstance(obj, Mapping) or obj.get("object") != "payment_intent":
        return Notification(event_id, None, ACK)
    if bool(event.get("livemode")) != live:
        log.warning("ignoring Stripe event %s from the other mode (livemode=%s)",
                    event_id, event.get("livemode"))
        return Notification(event_id, None, ACK)
    try:
        return Notification(event_id, intent_status(obj, state), ACK)
    except (KeyError, TypeError, ValueError, InvalidInput):
        # Signed by Stripe but not a payment we could have asked for: acknowledge, keep a trace.
        log.warning("ignoring Stripe event %s: no usable amount or currency", event_id)
        return Notification(event_id, None, ACK)
