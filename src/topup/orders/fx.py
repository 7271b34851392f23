"""Wallet top-ups paid in another currency, at a rate fixed on the order.

The payment stays in its own currency and the wallet receives its own: the operator's FX
position accounts (``op:fx:money:<cur>``) take one side of each, so every unit still sums to
zero. Only top-ups paid through a provider convert.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from topup.catalog.fx import fx_rate
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import FX
from topup.money import MAX_AMOUNT, Money, check_currency
from topup.orders.errors import InvalidOrder, PaymentMethodUnavailable

if TYPE_CHECKING:
    from topup.orders.model import Order, OrderRequest


def terms(uow: UnitOfWork, req: OrderRequest, money: Money) -> dict[str, Any]:
    """The order's conversion terms (empty when the wallet is in the paid currency)."""
    if not req.credit_currency or check_currency(req.credit_currency) == money.currency:
        return {"credit_currency": None, "credit_amount": None, "fx_rate": None}
    if req.kind != "topup" or req.method in ("wallet", "manual"):
        raise PaymentMethodUnavailable("only top-ups paid through a provider convert currency")
    target = check_currency(req.credit_currency)
    rate = fx_rate(uow, money.currency, target)
    if rate is None:
        raise InvalidOrder(f"no exchange rate from {money.currency} to {target}",
                           field="credit_currency")
    credit = rate.convert(money)
    if credit.amount <= 0:
        raise InvalidOrder("the amount is too small to convert", field="amount")
    if credit.amount > MAX_AMOUNT:
        raise InvalidOrder("the converted amount is too large", field="amount")
    return {"credit_currency": target, "credit_amount": credit.amount, "fx_rate": rate.text}


def fund_converted(uow: UnitOfWork, order: Order, payer_account: int) -> None:
    """Move the paid amount into the FX position and the converted amount into the wallet."""
    assert order.credit_currency and order.credit_amount
    ref = f"order:{order.id}"
    paid_unit = ledger.money_unit(order.currency)
    credit_unit = ledger.money_unit(order.credit_currency)
    ledger.transfer(uow, f"{ref}:fx-in", payer_account,
                    ledger.operator_account(uow, FX, paid_unit, line_id=order.line_id),
                    order.amount, code="fx", ref=ref)
    ledger.transfer(uow, f"{ref}:fund",
                    ledger.operator_account(uow, FX, credit_unit, line_id=order.line_id),
                    ledger.wallet(uow, order.line_id, order.credit_currency),
                    order.credit_amount, code="topup", ref=ref)
