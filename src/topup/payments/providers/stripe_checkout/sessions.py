"""Reading Stripe Checkout Sessions and their events into topup's payment terms, and the
parameters of a new Session.

A Session is ours when it is a ``payment`` Session whose ``metadata.order_id`` is its
``client_reference_id`` (both set by ``create_params``); anything else is acknowledged and
ignored. Where a Session stands:

| Session ``status`` / ``payment_status`` | topup |
| --- | --- |
| ``complete`` / ``paid`` | succeeded (with card brand + last 4, and the kept card) |
| ``expired`` | failed (nobody can pay it any more) |
| ``complete`` / ``unpaid``, PaymentIntent ``canceled`` or ``requires_payment_method`` | failed |
| anything else (``open``; ``complete`` / ``unpaid`` while an async payment runs) | pending |
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from topup.payments.interfaces import KeptMethod, PaymentRequest, PaymentStatus
from topup.payments.providers.stripe.amounts import from_stripe
from topup.payments.providers.stripe.events import card_detail
from topup.payments.providers.stripe.provider import DESCRIPTION_MAX
from topup.payments.providers.stripe.saved import USER_KEY

log = logging.getLogger("topup.payments.stripe")

# Events that move an order: "fetch" retrieves the Session first (for the card and the kept
# method, and because the retrieved Session is the authority), "failed" fails the order.
EVENTS = {
    "checkout.session.completed": "fetch",
    "checkout.session.async_payment_succeeded": "fetch",
    "checkout.session.async_payment_failed": "failed",
    "checkout.session.expired": "failed",
}
EXPAND = ["payment_intent", "payment_intent.latest_charge", "payment_intent.payment_method"]
_DEAD_INTENT = frozenset({"canceled", "requires_payment_method"})


def stripe_locale(language: str) -> str:
    """Checkout's ``locale`` for the payer's language: ``zh`` (Simplified Chinese) for
    zh-CN, ``en`` for English, else ``auto`` (the browser's)."""
    tag = (language or "").strip().lower()
    if tag.startswith("zh"):
        return "zh"
    return "en" if tag.startswith("en") else "auto"


def create_params(request: PaymentRequest, amount: int, currency: str, customer: str | None,
                  expires_at: int) -> dict[str, Any]:
    """The Session for ``request``: one line item of the order's total, our order id on the
    Session and its PaymentIntent, and — when the payer asked to keep the card — the
    Customer and ``setup_future_usage=off_session``."""
    order = str(request.order_id)
    name = request.description[:DESCRIPTION_MAX] or f"Order {order}"
    marks = {"order_id": order}
    if request.save_for is not None and customer:
        marks[USER_KEY] = request.save_for.user_ref
    intent: dict[str, Any] = {"description": name, "metadata": dict(marks)}
    params: dict[str, Any] = {
        "mode": "payment",
        "allowed_payment_method_types": ["card"],
        "line_items": [{"quantity": 1, "price_data": {
            "currency": currency, "unit_amount": amount, "product_data": {"name": name}}}],
        "client_reference_id": order,
        "metadata": marks,
        "payment_intent_data": intent,
        "locale": stripe_locale(request.language),
        "expires_at": expires_at,
    }
    if request.return_url:
        # The return page asks Stripe where the payment stands, whichever way the payer left.
        params["success_url"] = params["cancel_url"] = request.return_url
    if customer:
        params["customer"] = customer
        intent["setup_future_usage"] = "off_session"
    return params


def is_ours(session: Mapping[str, Any]) -> bool:
    """A payment Session that ``create_params`` made (our order id twice)."""
    order = str((session.get("metadata") or {}).get("order_id") or "")
    return (session.get("object") == "checkout.session" and session.get("mode") == "payment"
            and order.isdigit() and str(session.get("client_reference_id") or "") == order)


def _intent(session: Mapping[str, Any]) -> Mapping[str, Any] | None:
    intent = session.get("payment_intent")
    return intent if isinstance(intent, Mapping) else None


def session_state(session: Mapping[str, Any]) -> str:
    """pending, succeeded or failed, by the table in the module docstring."""
    status, paid = session.get("status"), session.get("payment_status")
    if status == "complete" and paid == "paid":
        return "succeeded"
    if status == "expired":
        return "failed"
    intent = _intent(session)
    if status == "complete" and intent is not None and intent.get("status") in _DEAD_INTENT:
        return "failed"
    return "pending"


def session_status(session: Mapping[str, Any], saver: str, state: str | None = None
                   ) -> PaymentStatus:
    """A PaymentStatus for the Session (``state`` when the event already says it)."""
    state = state or session_state(session)
    money = from_stripe(int(session["amount_total"]), str(session["currency"]))
    intent = _intent(session)
    paid = state == "succeeded" and intent is not None
    return PaymentStatus(str(session["id"]), state, money.amount, money.currency,
                         card_detail(intent) if paid and intent else None,
                         kept_method(session, intent, saver) if paid and intent else None)


def kept_method(session: Mapping[str, Any], intent: Mapping[str, Any], saver: str
                ) -> KeptMethod | None:
    """The card Stripe kept for off-session use, attached to the Session's Customer; None
    when the payer did not ask, or Stripe did not attach it (it could not be charged)."""
    user = str((session.get("metadata") or {}).get(USER_KEY) or "")
    method = intent.get("payment_method")
    customer = _id(intent.get("customer")) or _id(session.get("customer"))
    if not user or intent.get("setup_future_usage") != "off_session":
        return None
    if not isinstance(method, Mapping) or not customer:
        log.warning("Stripe Session %s kept no card it could charge", session.get("id"))
        return None
    if _id(method.get("customer")) != customer:
        log.warning("Stripe Session %s: card %s is not on customer %s", session.get("id"),
                    method.get("id"), customer)
        return None
    detail = card_detail({"payment_method": method})
    brand, last4 = detail.split(" ") if detail else (None, None)
    return KeptMethod(saver, user, customer, str(method["id"]), brand, last4)


def _id(value: Any) -> str:
    """An expandable field's id, whether Stripe sent the id or the object."""
    if isinstance(value, Mapping):
        return str(value.get("id") or "")
    return str(value or "")
