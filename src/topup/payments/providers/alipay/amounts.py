"""Alipay amounts: decimal yuan strings (``"100.50"``) to and from minor units (fen).

Alipay's domestic acquiring (precreate, page and wap pay) charges CNY only, so any other
currency is refused before a request is signed. Floats never touch the amounts.
"""

from __future__ import annotations

from topup.money import InvalidAmount, Money

CURRENCY = "CNY"


def to_yuan(amount: int, currency: str) -> str:
    """``amount`` fen as Alipay's ``total_amount`` text; ValueError for another currency."""
    if currency.upper() != CURRENCY:
        raise ValueError(f"Alipay charges {CURRENCY} only, not {currency}")
    if amount <= 0:
        raise ValueError("Alipay amounts must be positive")
    return Money(amount, CURRENCY).text()


def from_yuan(text: str) -> int:
    """Alipay's yuan text as fen, exactly; ``InvalidAmount`` when it is not an amount."""
    amount = Money.parse(text, CURRENCY).amount
    if amount < 0:
        raise InvalidAmount(f"negative Alipay amount {text!r}")
    return amount
