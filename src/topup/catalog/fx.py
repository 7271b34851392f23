"""Exchange rates for topping up a wallet in another currency. The rate is fixed on the
order when it is made; conversion is exact integer arithmetic, rounded down (the traveller
never gets a fraction of a minor unit the operator did not receive)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import delete, insert, select

from topup.catalog.errors import InvalidCatalogEntry
from topup.catalog.tables import fx_rates
from topup.db.uow import UnitOfWork
from topup.money import Money, minor_units, offered_currency


@dataclass(frozen=True)
class Rate:
    """``quote`` major units per one ``base`` major unit, as an exact fraction."""

    base: str
    quote: str
    num: int
    den: int

    @property
    def text(self) -> str:
        return f"{Decimal(self.num) / Decimal(self.den):f}"

    def convert(self, money: Money) -> Money:
        """``money`` (in ``base``) in ``quote``, rounded down to a minor unit."""
        shift = minor_units(self.quote) - minor_units(self.base)
        num, den = money.amount * self.num, self.den
        if shift >= 0:
            num *= 10**shift
        else:
            den *= 10**-shift
        return Money(num // den, self.quote)


def set_fx_rate(uow: UnitOfWork, base: str, quote: str, rate: str) -> Rate:
    """Set how many ``quote`` units one ``base`` unit buys, from decimal text like ``7.1234``."""
    offered = uow.settings.currencies
    base = offered_currency(base, offered, field="base")
    quote = offered_currency(quote, offered, field="quote")
    try:
        value = Decimal(rate.strip())
    except InvalidOperation as exc:
        raise InvalidCatalogEntry(f"not a rate: {rate!r}") from exc
    if base == quote or not value.is_finite() or value <= 0:
        raise InvalidCatalogEntry("a rate is positive and joins two different currencies")
    # Both sides are stored as BIGINT; 1e308 or 1e-300 (or 1e999999999, whose ratio alone
    # would take the process down) are refused before the ratio is computed.
    if not -18 <= value.adjusted() <= 18 or len(value.as_tuple().digits) > 18:
        raise InvalidCatalogEntry("the rate has more digits than a rate can store")
    num, den = value.as_integer_ratio()
    if max(num, den) > 2**63 - 1:
        raise InvalidCatalogEntry("the rate has more digits than a rate can store")
    uow.conn.execute(delete(fx_rates).where(fx_rates.c.base == base, fx_rates.c.quote == quote))
    uow.conn.execute(insert(fx_rates).values(base=base, quote=quote, rate_num=num,
                                             rate_den=den, updated_at=uow.now))
    return Rate(base, quote, num, den)


def fx_rate(uow: UnitOfWork, base: str, quote: str) -> Rate | None:
    """The current rate from ``base`` to ``quote``, if the operator set one."""
    row = uow.conn.execute(select(fx_rates).where(
        fx_rates.c.base == base, fx_rates.c.quote == quote)).first()
    return Rate(base, quote, int(row.rate_num), int(row.rate_den)) if row else None
