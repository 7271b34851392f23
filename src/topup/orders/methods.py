"""Which payment methods can pay an order: one check that quotes and orders share, so a quote
never promises what the order then refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from topup.money import Money
from topup.orders.errors import InvalidOrder, PaymentMethodUnavailable
from topup.payments.interfaces import PaymentProvider, accepts

if TYPE_CHECKING:
    from topup.orders.model import OrderRequest


def check_method(req: OrderRequest, money: Money, provider: PaymentProvider | None, *,
                 prepaid: bool = False) -> None:
    """Refuse a method that cannot pay this order (PaymentMethodUnavailable): unknown or not
    configured, the wallet for a top-up, a manual credit without a reason, or a provider that
    does not collect the order's currency. Quotes and orders share it, so a quote never
    promises what an order refuses."""
    if req.method == "wallet" and req.kind != "plan":
        raise PaymentMethodUnavailable("the wallet pays for plans; top up with another method")
    if req.method == "manual" and not (req.reason or "").strip():
        raise InvalidOrder("a manual credit needs a reason", field="reason")
    if req.method not in ("wallet", "manual") and provider is None and not prepaid:
        raise PaymentMethodUnavailable(f"payment method {req.method!r} is not available")
    if prepaid and (provider is not None or req.method in ("wallet", "manual")):
        raise PaymentMethodUnavailable(f"{req.method!r} is not paid from a prepaid source")
    if provider is not None and not accepts(provider, money.currency):
        raise PaymentMethodUnavailable(
            f"payment method {req.method!r} does not take {money.currency}",
            currency=money.currency)
