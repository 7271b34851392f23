"""The trip planner's service: a trip as the traveller states it (legs of countries and dates,
an expected daily use) checked, the catalogue's plans that could serve it priced by the one
price service (``quotes.price``), and the exact search of ``trips.plan_trip`` run over them.

Each plan of the answer says when to buy it: a plan whose validity starts at first use is
bought now (it waits unstarted until the traveller uses data where it applies); a plan whose
validity starts at purchase is bought on the day it should start (bought earlier, its days
would run out before the trip), unless that day is today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from topup.catalog import service as catalog
from topup.catalog.errors import InvalidTrip
from topup.catalog.quotes import Quote, price
from topup.catalog.trips import MIB, USES, Candidate, Leg, plan_trip
from topup.catalog.zones import is_country
from topup.db.uow import UnitOfWork
from topup.money import Money, check_currency

__all__ = ["MAX_DAYS", "MAX_LEGS", "MAX_USE_MB", "USES", "Trip", "TripItem", "daily_use",
           "leg", "parse_legs", "plan"]

MAX_LEGS = 6
MAX_DAYS = 60  # from the first day to the last: longer trips are planned in parts
MAX_USE_MB = 50_000


@dataclass(frozen=True)
class TripItem:
    """One plan of the answer: from ``start`` to ``end`` (its validity), taking the trip's
    ``cells`` (day, country), priced by ``quote``; bought on ``buy_on``."""

    plan: catalog.Plan
    quote: Quote
    start: date
    end: date
    cells: tuple[tuple[date, str], ...]
    buy_on: date

    @property
    def first_use(self) -> bool:
        return self.plan.validity_start == "first_use"


@dataclass(frozen=True)
class Trip:
    """The planner's answer: the plans in start order and their ``total``, or the trip's
    ``uncovered`` countries (no plan on sale covers them with the daily use asked)."""

    legs: tuple[Leg, ...]
    use_mb: int
    currency: str
    items: tuple[TripItem, ...]
    total: Money
    uncovered: tuple[str, ...]

    @property
    def covered(self) -> bool:
        return not self.uncovered


def leg(country: str, first: str | date, last: str | date) -> Leg:
    """A leg from what was typed: a country code and two ISO dates (``InvalidTrip``)."""
    cc = (country or "").strip().upper()
    if not is_country(cc):
        raise InvalidTrip(f"{country!r} is not a country code such as JP", field="legs")
    try:
        days = [d if isinstance(d, date) else date.fromisoformat(d.strip())
                for d in (first, last)]
    except ValueError as exc:
        raise InvalidTrip(f"the dates of the leg in {cc} are not dates such as 2027-05-03",
                          field="legs") from exc
    if days[1] < days[0]:
        raise InvalidTrip(f"the leg in {cc} ends before it starts", field="legs")
    return Leg(cc, days[0], days[1])


def parse_legs(text: str) -> list[Leg]:
    """Legs written ``CC:first:last`` separated by commas, e.g.
    ``JP:2027-05-03:2027-05-10,KR:2027-05-10:2027-05-14``."""
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    out = []
    for part in parts[:MAX_LEGS + 1]:
        pieces = part.split(":")
        if len(pieces) != 3:
            raise InvalidTrip(f"a leg is COUNTRY:FIRST:LAST, not {part[:40]!r}", field="legs")
        out.append(leg(*pieces))
    return out


def daily_use(text: str | int) -> int:
    """MB a day from a preset name (light, normal, heavy) or a number of MB."""
    value = str(text).strip().lower()
    if value in USES:
        return USES[value]
    if not value.isdigit() or not 1 <= int(value) <= MAX_USE_MB:
        raise InvalidTrip(f"the daily use is light, normal, heavy or 1 to {MAX_USE_MB} MB",
                          field="use")
    return int(value)


def _check(legs: Sequence[Leg], today: date) -> None:
    if not 1 <= len(legs) <= MAX_LEGS:
        raise InvalidTrip(f"a trip has 1 to {MAX_LEGS} legs", field="legs")
    first, last = min(x.first for x in legs), max(x.last for x in legs)
    if first < today:
        raise InvalidTrip(f"the trip starts on {first.isoformat()}, before today "
                          f"({today.isoformat()})", field="legs")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidTrip(f"a trip is at most {MAX_DAYS} days; plan a longer one in parts",
                          field="legs")


def plan(uow: UnitOfWork, legs: Sequence[Leg], use_mb: int, currency: str, at: datetime,
         channel: str, *, customer: int | None = None) -> Trip:
    """The cheapest plans on sale at ``at`` covering ``legs`` with ``use_mb`` MB a day, priced
    in ``currency`` for ``customer`` through ``channel`` (add-ons are left out: they top up
    a plan rather than stand for one); ``InvalidTrip`` for a bad trip,
    ``TripTooComplex`` when the search is too large."""
    cur = check_currency(currency)
    today = at.date()
    _check(legs, today)
    countries = {x.country for x in legs}
    found = [p for p in catalog.list_plans(uow, currency=cur, on_sale_at=at)
             if p.data_bytes > 0 and p.kind != "addon" and countries & set(p.countries)]
    quotes = {p.id: price(uow, p, cur, at, channel, customer=customer) for p in found}
    cands = [Candidate(p.id, frozenset(p.countries), p.validity_days, p.data_bytes,
                       quotes[p.id].total) for p in found]
    answer = plan_trip(legs, use_mb * MIB, cands)
    by_id = {p.id: p for p in found}
    items = tuple(TripItem(
        by_id[x.key], quotes[x.key], x.start, x.end, x.cells,
        today if by_id[x.key].validity_start == "first_use" or x.start <= today else x.start)
        for x in answer.placements)
    return Trip(tuple(legs), use_mb, cur, items, Money(answer.total, cur), answer.uncovered)
