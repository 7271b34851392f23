"""Reading PayPal's JSON (orders, captures, refunds) into topup's payment values.

Amounts: topup keeps integer minor units of the ISO 4217 currency; PayPal speaks decimal text
with the currency's digits ("100.50" CNY, "1500" JPY). A few currencies have two ISO digits
but PayPal accepts no decimals for them (HUF, TWD): those are sent as whole units, and an
amount with a fractional part cannot be paid through PayPal.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from topup.errors import InvalidInput
from topup.money import Money
from topup.payments.errors import PaymentDeclined, ProviderUnavailable
from topup.payments.interfaces import PaymentStatus

WHOLE_UNITS_ONLY = frozenset({"HUF", "TWD"})
METHOD_DETAIL = "paypal"

# Orders v2 order status -> our state when no capture says more.
ORDER_STATES = {"CREATED": "pending", "SAVED": "pending", "APPROVED": "pending",
                "PAYER_ACTION_REQUIRED": "pending", "VOIDED": "failed"}
# Payments v2 capture status -> our state (refunds after success do not undo the payment).
CAPTURE_STATES = {"COMPLETED": "succeeded", "PARTIALLY_REFUNDED": "succeeded",
                  "REFUNDED": "succeeded", "PENDING": "pending", "DECLINED": "failed",
                  "FAILED": "failed"}


def paypal_value(amount: int, currency: str) -> str:
    """Minor units as the decimal text PayPal expects for ``currency``."""
    money = Money(amount, currency)
    if money.currency in WHOLE_UNITS_ONLY:
        whole, cents = divmod(amount, 100)
        if cents:
            raise PaymentDeclined(f"PayPal takes {money.currency} in whole units only")
        return str(whole)
    return money.text()


def minor_units(value: object, currency: object) -> tuple[int, str]:
    """PayPal's ``{"value", "currency_code"}`` as (minor units, currency), exactly."""
    if not isinstance(value, str) or not isinstance(currency, str):
        raise ProviderUnavailable("PayPal sent an amount without value or currency")
    try:
        money = Money.parse(value, currency)
    except InvalidInput as exc:
        raise ProviderUnavailable(f"PayPal sent an unreadable amount {value!r}") from exc
    return money.amount, money.currency


def amount_of(holder: Mapping[str, Any]) -> tuple[int, str]:
    """The ``amount`` object of an order's purchase unit, a capture or a refund."""
    amount = holder.get("amount")
    if not isinstance(amount, Mapping):
        raise ProviderUnavailable("PayPal sent no amount")
    return minor_units(amount.get("value"), amount.get("currency_code"))


def purchase_unit(order: Mapping[str, Any]) -> Mapping[str, Any]:
    """The single purchase unit topup creates per order."""
    units = order.get("purchase_units")
    if not isinstance(units, list) or not units or not isinstance(units[0], Mapping):
        raise ProviderUnavailable("PayPal order without a purchase unit")
    return units[0]


def captures(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The captures of the order's purchase unit, oldest first."""
    payments = purchase_unit(order).get("payments") or {}
    found = payments.get("captures") if isinstance(payments, Mapping) else None
    return [c for c in found or [] if isinstance(c, Mapping)]


def order_id(order: Mapping[str, Any]) -> str:
    """The PayPal order id (our ``provider_ref``)."""
    ref = order.get("id")
    if not isinstance(ref, str) or not ref:
        raise ProviderUnavailable("PayPal order without an id")
    return ref


def order_status(order: Mapping[str, Any]) -> PaymentStatus:
    """Where a PayPal order stands: its capture decides once there is one."""
    amount, currency = amount_of(purchase_unit(order))
    taken = captures(order)
    if taken:
        state = CAPTURE_STATES.get(str(taken[-1].get("status")), "pending")
    else:
        state = ORDER_STATES.get(str(order.get("status")), "pending")
    return PaymentStatus(order_id(order), state, amount, currency,
                         METHOD_DETAIL if state == "succeeded" else None)


def capture_status(capture: Mapping[str, Any], state: str) -> PaymentStatus:
    """A capture resource (from a webhook) as the status of the order it belongs to."""
    related = (capture.get("supplementary_data") or {}).get("related_ids") or {}
    ref = related.get("order_id") if isinstance(related, Mapping) else None
    if not isinstance(ref, str) or not ref:
        raise ProviderUnavailable("PayPal capture without its order id")
    amount, currency = amount_of(capture)
    return PaymentStatus(ref, state, amount, currency,
                         METHOD_DETAIL if state == "succeeded" else None)


def approve_link(order: Mapping[str, Any]) -> str:
    """Where the payer approves: ``rel: payer-action`` (payment_source flow) or ``approve``."""
    for link in order.get("links") or []:
        if isinstance(link, Mapping) and link.get("rel") in ("payer-action", "approve"):
            href = link.get("href")
            if isinstance(href, str) and href.startswith("https://"):
                return href
    raise ProviderUnavailable("PayPal order without an approval link")
