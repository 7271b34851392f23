"""Out-of-bundle rates as a traveller reads them: per MB of data, per minute of calls, per SMS,
in a country, in a currency the operator sells.

The rates are the ones charging applies (``pricing.oob_rate``: the country's own rate, else
the cheapest region covering it), and the price of one unit is what charging takes for
exactly that much (``pricing.oob_charge``, rounded up to a minor unit): no second rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from topup.catalog.errors import RatesNotFound
from topup.catalog.pricing import oob_charge, oob_rate
from topup.catalog.tables import OOB_UNITS, oob_rates
from topup.catalog.tables import zone_countries as zc
from topup.catalog.zones import is_country
from topup.db.uow import UnitOfWork
from topup.money import Money, offered_currency

__all__ = ["PER", "CountryRates", "UnitRate", "country_rates", "rated_countries"]

MIB = 1024 * 1024
# What one unit is in a traveller's terms: a MB (binary, as operators count data), a minute
# of calls, one message.
PER: dict[str, tuple[str, int]] = {"data": ("MB", MIB), "voice": ("minute", 60),
                                   "sms": ("SMS", 1)}


@dataclass(frozen=True)
class UnitRate:
    """One unit's rate: ``rate`` minor units per ``per_quantity`` (bytes, seconds, messages)
    as configured, and ``amount``, the charge for one ``per`` (MB, minute, SMS)."""

    unit: str
    per: str
    currency: str
    rate: int
    per_quantity: int
    amount: int

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


@dataclass(frozen=True)
class CountryRates:
    """The rates of ``country`` in ``currency``: a ``UnitRate`` per unit, None for a unit
    that has no rate there (its use outside a plan is refused, not charged)."""

    country: str
    currency: str
    units: dict[str, UnitRate | None]


def country_rates(uow: UnitOfWork, country: str, currency: str) -> CountryRates:
    """What data, calls and SMS outside a plan cost in ``country``, in ``currency`` (one the
    operator sells: else ``CurrencyNotOffered``). ``RatesNotFound`` when ``country`` is no
    country or no rate applies there in any unit."""
    cc = (country or "").strip().upper()
    cur = offered_currency(currency, uow.settings.currencies)
    if not is_country(cc):
        raise RatesNotFound(f"{country!r} is not a country code", country=cc)
    units: dict[str, UnitRate | None] = {}
    for unit in OOB_UNITS:
        found = oob_rate(uow, cc, cur, unit)
        per, quantity = PER[unit]
        units[unit] = None if found is None else UnitRate(
            unit, per, cur, found[0], found[1], oob_charge(found[0], found[1], quantity))
    if all(u is None for u in units.values()):
        raise RatesNotFound(f"no rate applies in {cc} in {cur}", country=cc, currency=cur)
    return CountryRates(cc, cur, units)


def rated_countries(uow: UnitOfWork, currency: str | None = None) -> list[str]:
    """Codes of the countries where some out-of-bundle rate applies (in ``currency``, when
    given: one the operator sells), sorted."""
    rated = select(oob_rates.c.zone_code)
    if currency is not None:
        rated = rated.where(
            oob_rates.c.currency == offered_currency(currency, uow.settings.currencies))
    rows = uow.conn.execute(
        select(zc.c.country).where(zc.c.zone_code.in_(rated)).distinct().order_by(zc.c.country))
    return [str(c) for c in rows.scalars()]
