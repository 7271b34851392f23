"""Checkout Sessions in the local Stripe (``stripe_world``): creating one as
``POST /v1/checkout/sessions`` does, and paying one as Stripe's hosted page does.

What is checked is what Stripe checks for the parameters topup sends: unknown parameters,
``mode``, the line items' ``price_data``, the Customer, ``payment_intent_data``, ``locale``,
and ``expires_at`` between 30 minutes and 24 hours ahead. A PaymentIntent is made only when
the payer submits a card (as since API version 2022-08-01); a declined card leaves the
Session open for another try, a paid one completes it and emits
``checkout.session.completed``.
"""

from __future__ import annotations

from typing import Any

from tests.integration.payments.stripe_world import (
    INTENT_DATA,
    LOCALES,
    SESSION_PARAMS,
    World,
    integer,
    invalid,
)

MIN_AHEAD, MAX_AHEAD = 30 * 60, 24 * 60 * 60


def _unknown(params: dict[str, Any], known: frozenset[str], prefix: str = "") -> None:
    for key in params:
        if key not in known:
            raise invalid(f"Received unknown parameter: {prefix}{key}", f"{prefix}{key}",
                          "parameter_unknown")


def _line_items(params: dict[str, Any]) -> tuple[int, str]:
    """The total and currency of the Session's line items (price_data only)."""
    items = params.get("line_items")
    if not isinstance(items, list) or not items:
        raise invalid("You must provide at least one line item in `payment` mode.",
                      "line_items")
    total, currencies = 0, set()
    for i, item in enumerate(items):
        price = item.get("price_data") if isinstance(item, dict) else None
        if not isinstance(price, dict) or not (price.get("product_data") or {}).get("name"):
            raise invalid("Each line item needs price_data with product_data[name].",
                          f"line_items[{i}][price_data]")
        currencies.add(str(price.get("currency") or "").lower())
        total += integer(price.get("unit_amount"), f"line_items[{i}][price_data][unit_amount]") \
            * integer(item.get("quantity", 1), f"line_items[{i}][quantity]")
    if len(currencies) != 1 or not all(len(c) == 3 for c in currencies):
        raise invalid("All line items must share one currency.", "line_items")
    if total < 50:
        raise invalid("The Checkout Session's total amount due must add up to at least "
                      "50 cents.", "line_items", "amount_too_small")
    return total, currencies.pop()


def _checked(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """The Session's own settings, after Stripe's checks of them."""
    _unknown(params, SESSION_PARAMS)
    if params.get("mode") != "payment":
        raise invalid("This local Stripe knows `mode=payment` only.", "mode")
    if not set(params.get("allowed_payment_method_types") or ["card"]) <= {"card"}:
        raise invalid("This local Stripe takes cards only.", "allowed_payment_method_types")
    data = params.get("payment_intent_data") or {}
    _unknown(data, INTENT_DATA, "payment_intent_data.")
    if data.get("setup_future_usage") not in (None, "off_session", "on_session"):
        raise invalid("Invalid setup_future_usage.", "payment_intent_data[setup_future_usage]")
    if params.get("locale", "auto") not in LOCALES:
        raise invalid(f"Invalid locale: {params['locale']}", "locale")
    if params.get("customer"):
        world.get("customer", params["customer"], "customer")
    now = world.now()
    expires = integer(params.get("expires_at", now + MAX_AHEAD), "expires_at")
    if not now + MIN_AHEAD <= expires <= now + MAX_AHEAD:
        raise invalid("The `expires_at` timestamp must be between 30 minutes and 24 hours "
                      "from Checkout Session creation.", "expires_at")
    return {"expires_at": expires, "intent": data}


def create_session(world: World, params: dict[str, Any]) -> dict[str, Any]:
    """A new open Session whose ``url`` is this Stripe's hosted page."""
    checked = _checked(world, params)
    total, currency = _line_items(params)
    session = world.new(
        "cs_test", "checkout.session", mode="payment", status="open", payment_status="unpaid",
        amount_subtotal=total, amount_total=total, currency=currency,
        client_reference_id=params.get("client_reference_id"),
        customer=params.get("customer"), customer_email=params.get("customer_email"),
        customer_details=None, metadata=dict(params.get("metadata") or {}),
        locale=params.get("locale"), success_url=params.get("success_url"),
        cancel_url=params.get("cancel_url"), expires_at=checked["expires_at"],
        payment_intent=None, payment_method_types=["card"],
        allowed_payment_method_types=["card"], ui_mode="hosted", url=None)
    session["url"] = f"{world.page_base}/c/pay/{session['id']}"
    world.private[session["id"]] = {"items": params["line_items"], "intent": checked["intent"]}
    return session


def pay(world: World, session_id: str, card: dict[str, str]) -> dict[str, Any]:
    """The payer's card on the hosted page: the Session completes, or Stripe's card error
    is raised (and the Session stays open for another card)."""
    session = world.get("checkout.session", session_id)
    if session["status"] != "open":
        raise invalid("This Checkout Session is no longer active.",
                      code="checkout_session_unexpected_state")
    method = world.card(card.get("number", ""), card.get("month", ""), card.get("year", ""),
                        card.get("cvc", ""))
    method["billing_details"]["name"] = card.get("name") or None
    intent_id = session["payment_intent"]
    if intent_id is None:
        data = world.private[session_id]["intent"]
        intent_id = world.create_intent({
            "amount": session["amount_total"], "currency": session["currency"],
            "customer": session["customer"], "description": data.get("description"),
            "metadata": data.get("metadata"),
            "setup_future_usage": data.get("setup_future_usage")})["id"]
        session["payment_intent"] = intent_id
    world.update_intent(intent_id, {"payment_method": method["id"]})
    world.confirm_intent(intent_id, {})
    session.update(status="complete", payment_status="paid", url=None,
                   customer_details={"email": None, "name": card.get("name") or None})
    world.emit("checkout.session.completed", session)
    return session


def success_url(session: dict[str, Any]) -> str | None:
    """Where the payer goes after paying, with ``{CHECKOUT_SESSION_ID}`` filled in."""
    url = session.get("success_url")
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None
