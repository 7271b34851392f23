"""Money: an integer number of minor units plus an ISO 4217 currency.

Floats never touch money. Parsing a decimal string checks the currency's minor units (JPY has
none, CNY has two); arithmetic across currencies raises ``CurrencyMismatch``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

from topup.errors import InvalidInput

# The largest amount (minor units) any single money value entered anywhere may hold: an
# order, a credit, a price, a limit, a face value. Far above any real top-up, far below the
# ledger's range (``ledger.tables.MAX_TOTAL``), so a sum of many still fits in 64 bits.
MAX_AMOUNT = 10**15


class CurrencyMismatch(InvalidInput):
    """Raised when two amounts of different currencies are combined."""

    code = "currency_mismatch"
    title = "Currencies do not match"


class InvalidAmount(InvalidInput):
    """Raised when an amount is negative, fractional beyond minor units, or not a number."""

    code = "invalid_amount"
    title = "Invalid amount"


class CurrencyNotOffered(InvalidInput):
    """Raised when money arrives in a currency the operator does not sell in."""

    code = "currency_not_offered"
    title = "This currency is not accepted"


_KNOWN_CURRENCIES: frozenset[str] | None = None


def _known() -> frozenset[str]:
    global _KNOWN_CURRENCIES
    if _KNOWN_CURRENCIES is None:
        from babel.core import get_global

        _KNOWN_CURRENCIES = frozenset(get_global("currency_fractions").keys()) | frozenset(
            get_global("all_currencies").keys()
        )
    return _KNOWN_CURRENCIES


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise ``InvalidInput``."""
    cur = (code or "").strip().upper()
    if len(cur) != 3 or not cur.isalpha() or cur not in _known():
        raise InvalidInput(f"unknown currency {code!r}", field="currency")
    return cur


def offered_currency(code: str, offered: Iterable[str], *, field: str = "currency") -> str:
    """The ISO code when the operator sells in it (``settings.currencies``), else raise
    ``CurrencyNotOffered``: the one rule for every place where money enters."""
    cur = check_currency(code)
    allowed = sorted(offered)
    if cur not in allowed:
        raise CurrencyNotOffered(f"{cur} is not accepted; use one of {', '.join(allowed)}",
                                 field=field, currency=cur, accepted=allowed)
    return cur


def check_amount(value: object, *, field: str = "amount", allow_zero: bool = False) -> int:
    """An integer amount of minor units in ``(0, MAX_AMOUNT]`` (``[0, …]`` with
    ``allow_zero``), else raise ``InvalidAmount``; floats, strings and booleans never pass."""
    low = 0 if allow_zero else 1
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= MAX_AMOUNT:
        raise InvalidAmount(f"{field} is an integer of minor units from {low} to {MAX_AMOUNT}",
                            field=field)
    return value


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (2 for CNY, 0 for JPY)."""
    return int(get_currency_precision(check_currency(currency)))


@dataclass(frozen=True, order=True)
class Money:
    """An exact amount: ``amount`` minor units of ``currency``."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise InvalidAmount("money amounts are integers of minor units")
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Parse a decimal string such as ``"100.50"`` into minor units, exactly."""
        digits = minor_units(currency)
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation as exc:
            raise InvalidAmount(f"not a number: {text!r}") from exc
        if not value.is_finite():
            raise InvalidAmount(f"not a number: {text!r}")
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise InvalidAmount(f"{currency} has {digits} decimal places; got {text!r}")
        return cls(int(scaled), currency)

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"{self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def decimal(self) -> Decimal:
        """The amount in major units as an exact Decimal."""
        return Decimal(self.amount).scaleb(-minor_units(self.currency))

    def text(self) -> str:
        """Plain decimal text with the currency's digits, e.g. ``"100.50"``."""
        digits = minor_units(self.currency)
        return f"{self.decimal():.{digits}f}"

    def format(self, locale: str = "en") -> str:
        """Localised display such as ``CN¥100.50`` or ``¥100.50``."""
        return str(format_currency(self.decimal(), self.currency, locale=locale.replace("-", "_")))

    def __str__(self) -> str:
        return f"{self.text()} {self.currency}"
