"""Amounts between topup's minor units (ISO 4217 / CLDR digits) and Stripe's API units.

Stripe's ``amount`` is an integer in the currency's "smallest unit", but Stripe's idea of that
unit is its own: a short list of zero-decimal currencies (JPY, KRW, VND …), five three-decimal
ones (BHD, JOD, KWD, OMR, TND: the last digit must be 0), and two decimals for everything else —
including ISK, which ISO counts as zero-decimal (Stripe wants 1 ISK as ``100``). Converting by
powers of ten keeps every amount an exact integer; what cannot be said exactly is refused.
"""

from __future__ import annotations

from topup.money import InvalidAmount, Money, check_currency, minor_units

# https://docs.stripe.com/currencies#zero-decimal and #three-decimal
ZERO_DECIMAL = frozenset({
    "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV",
    "XAF", "XOF", "XPF",
})
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})


def stripe_exponent(currency: str) -> int:
    """Digits after the decimal point in Stripe's API for ``currency``."""
    cur = check_currency(currency)
    if cur in ZERO_DECIMAL:
        return 0
    return 3 if cur in THREE_DECIMAL else 2


def to_stripe(amount: int, currency: str) -> tuple[int, str]:
    """Our minor units as Stripe's ``(amount, lower-case currency)``; exact or InvalidAmount."""
    money = Money(amount, currency)
    shift = stripe_exponent(money.currency) - minor_units(money.currency)
    if shift >= 0:
        value = money.amount * 10**shift
    elif money.amount % 10**-shift:
        raise InvalidAmount(f"Stripe cannot charge {money}: it has fewer decimals there")
    else:
        value = money.amount // 10**-shift
    if money.currency in THREE_DECIMAL and value % 10:
        raise InvalidAmount(f"Stripe needs {money.currency} amounts rounded to 0.01: {money}")
    return value, money.currency.lower()


def from_stripe(amount: int, currency: str) -> Money:
    """Stripe's ``(amount, currency)`` as our Money; InvalidAmount if not exact."""
    cur = check_currency(currency)
    shift = stripe_exponent(cur) - minor_units(cur)
    if shift <= 0:
        return Money(int(amount) * 10**-shift, cur)
    if int(amount) % 10**shift:
        raise InvalidAmount(f"Stripe amount {amount} {cur} has more decimals than {cur} has")
    return Money(int(amount) // 10**shift, cur)
