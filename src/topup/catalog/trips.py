"""The trip planner's search: the cheapest set of plans, each started on a chosen day, that
covers every day of a trip in every country of that day, and the data of those days.

Pure: no database, no prices of its own. The candidates come priced (``trip_plans`` asks the
one price service for them).

The rules (docs/trip-planner.md says them to travellers):

- A trip is legs: a country from a first to a last day, both included. Each (day, country)
  of a leg is a *cell*. A transit day (Japan to the 10th, Korea from the 10th) has two cells:
  both countries must be covered that day, since the traveller uses data in both.
  Days in no leg (home between two trips) need no plan.
- A plan started on day ``s`` lasts its ``validity_days`` calendar days: ``s`` to
  ``s + validity_days - 1``. (A bucket runs validity_days x 24 hours from its start, so it
  covers at least those calendar days.)
- Each cell is assigned to exactly one plan that is valid that day and whose zone covers the
  country; a plan's data must cover the daily use of every cell assigned to it:
  ``data_bytes >= use_bytes x cells``. A transit day thus counts the daily use in each
  country (the safe side: the day's use is not known to split).
- Plans may overlap; the same plan may be bought more than once.

The search is exact: a uniform-cost search over the cells in time order, the state being the
plans still open (which plan, last day, cells it can still take). A plan never needs to start
before the day of the first cell it takes (starting later only ends later), so a plan is
opened at a cell. Capacities are capped at what the rest of the trip could use, so equal
futures merge.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from topup.catalog.errors import InvalidTrip, TripTooComplex

__all__ = ["MIB", "USES", "Candidate", "Leg", "Placement", "TripPlan", "cells_of", "plan_trip"]

MIB = 1024 * 1024  # data is counted in binary megabytes, as the portal shows it
# Expected use in MB a day: light (maps, messages), normal (plus photos, some video calls),
# heavy (video, hotspot for a laptop).
USES = {"light": 300, "normal": 1000, "heavy": 3000}
MAX_STATES = 50_000  # the search gives up (TripTooComplex) within seconds rather than minutes

Open = tuple[int, int, int]  # (candidate index, last day, cells it can still take)
State = tuple[int, tuple[Open, ...]]


@dataclass(frozen=True)
class Leg:
    """Days in one country, ``first`` to ``last`` included."""

    country: str
    first: date
    last: date


@dataclass(frozen=True)
class Candidate:
    """A plan the traveller could buy: ``key`` names it (the plan id), with the countries its
    zone covers, its validity, its data and its price (minor units, from the price service)."""

    key: int
    countries: frozenset[str]
    validity_days: int
    data_bytes: int
    price: int


@dataclass(frozen=True)
class Placement:
    """One plan bought for the trip: valid from ``start`` to ``end`` (included), covering
    the ``cells`` (day, country) assigned to it."""

    key: int
    start: date
    end: date
    price: int
    cells: tuple[tuple[date, str], ...]


@dataclass(frozen=True)
class TripPlan:
    """The answer: the placements by start day and their total, or ``uncovered``: the
    countries of the trip that no candidate can cover (then no placement at all)."""

    placements: tuple[Placement, ...]
    total: int
    uncovered: tuple[str, ...] = ()


def cells_of(legs: Sequence[Leg]) -> list[tuple[date, str]]:
    """Every (day, country) of the trip, once, in time order (then by country)."""
    cells: set[tuple[date, str]] = set()
    for leg in legs:
        if leg.last < leg.first:
            raise InvalidTrip(f"the leg in {leg.country} ends before it starts", field="legs")
        for n in range((leg.last - leg.first).days + 1):
            cells.add((leg.first + timedelta(days=n), leg.country))
    return sorted(cells)


def plan_trip(legs: Sequence[Leg], use_bytes: int, candidates: Sequence[Candidate]
              ) -> TripPlan:
    """The cheapest placements covering every cell of ``legs`` and ``use_bytes`` a cell
    (see the module's rules); ``TripTooComplex`` when the search is too large."""
    if use_bytes <= 0:
        raise InvalidTrip("the daily use is a positive number of bytes", field="use")
    cells = cells_of(legs)
    if not cells:
        raise InvalidTrip("a trip has at least one leg", field="legs")
    usable = [c for c in candidates if c.data_bytes // use_bytes > 0 and c.validity_days > 0]
    uncovered = sorted({country for _, country in cells
                        if not any(country in c.countries for c in usable)})
    if uncovered:
        return TripPlan((), 0, tuple(uncovered))
    return _Search(cells, use_bytes, usable).run()


class _Search:
    """Uniform-cost search over (next cell, open plans); see the module docstring."""

    def __init__(self, cells: list[tuple[date, str]], use_bytes: int,
                 cands: list[Candidate]) -> None:
        self.cells = cells
        self.day0 = cells[0][0]
        self.days = [(d - self.day0).days for d, _ in cells]
        caps = [c.data_bytes // use_bytes for c in cands]
        keep = [n for n in _undominated(cands, caps) if caps[n] > 0]
        self.cands, self.caps = [cands[n] for n in keep], [caps[n] for n in keep]
        # covered[k][i]: how many of the first i cells candidate k could take
        self.covered = [list(itertools.accumulate(
            (country in c.countries for _, country in cells), initial=0)) for c in self.cands]
        self.rate = self._rates()
        self.left = list(itertools.accumulate(reversed(self.rate), initial=0.0))[::-1]

    def _rates(self) -> list[float]:
        """A lower bound of what each cell costs: the least price per cell a plan covering it
        can reach (price over the most cells one placement of it can take). Their sum over
        the cells still to cover never exceeds the cost of covering them (A*'s bound)."""
        most = []
        for k, cand in enumerate(self.cands):
            window = max(self._future(k, i, self.days[i] + cand.validity_days - 1)
                         for i in range(len(self.cells)))
            most.append(max(1, min(self.caps[k], window)))
        return [min((c.price / most[k] for k, c in enumerate(self.cands)
                     if country in c.countries), default=0.0) * (1 - 1e-9)
                for _, country in self.cells]

    def _bound(self, state: State) -> float:
        """The cost still to pay at least: the rates of the cells left, less the most the
        open plans could take off (each its cells left among the dearest cells it could
        take, and never more than the cells any of them reaches)."""
        i, opened = state
        reached: set[int] = set()
        takes = 0.0
        for k, end, left in opened:
            reach = [j for j in range(i, bisect_right(self.days, end))
                     if self.cells[j][1] in self.cands[k].countries]
            reached.update(reach)
            takes += sum(sorted((self.rate[j] for j in reach), reverse=True)[:left])
        return max(self.left[i] - min(takes, sum(self.rate[j] for j in reached)), 0.0)

    def _future(self, k: int, i: int, end: int) -> int:
        """Cells from index ``i`` up to day ``end`` that candidate ``k`` covers."""
        hi = bisect_right(self.days, end)
        return max(0, self.covered[k][hi] - self.covered[k][i]) if hi > i else 0

    def _normal(self, i: int, opened: list[Open]) -> tuple[Open, ...]:
        """The open plans as they matter from cell ``i`` on: expired or full ones dropped,
        capacities capped at the cells they could still take."""
        if i == len(self.cells):
            return ()
        kept = []
        for k, end, left in opened:
            left = min(left, self._future(k, i, end))
            if left > 0:
                kept.append((k, end, left))
        return tuple(sorted(kept))

    def _moves(self, state: State) -> list[tuple[int, State, tuple[str, int, int]]]:
        i, opened = state
        day, country = self.days[i], self.cells[i][1]
        out = []
        for n, (k, end, left) in enumerate(opened):
            if country in self.cands[k].countries and day <= end and left > 0:
                rest = [*opened[:n], (k, end, left - 1), *opened[n + 1:]]
                out.append((0, (i + 1, self._normal(i + 1, rest)), ("use", k, end)))
        for k, cand in enumerate(self.cands):
            if country in cand.countries:
                end = day + cand.validity_days - 1
                rest = [*opened, (k, end, self.caps[k] - 1)]
                out.append((cand.price, (i + 1, self._normal(i + 1, rest)), ("new", k, end)))
        return out

    def run(self) -> TripPlan:
        start: State = (0, ())
        best: dict[State, int] = {start: 0}
        parent: dict[State, tuple[State, tuple[str, int, int]]] = {}
        tie = itertools.count()
        queue: list[tuple[float, int, int, int, State]] = [(0.0, 0, next(tie), 0, start)]
        while queue:
            _, _, _, cost, state = heapq.heappop(queue)
            if cost > best[state]:
                continue
            if state[0] == len(self.cells):  # the bound is never above the truth: optimal
                return self._answer(state, parent, cost)
            for price, nxt, move in self._moves(state):
                if cost + price < best.get(nxt, cost + price + 1):
                    best[nxt] = cost + price
                    parent[nxt] = (state, move)
                    # deeper first among equals: a plateau of equal bounds ends sooner
                    heapq.heappush(queue, (cost + price + self._bound(nxt), -nxt[0],
                                           next(tie), cost + price, nxt))
            if len(best) > MAX_STATES:
                raise TripTooComplex("the trip has too many days and plans to search; "
                                     "plan it in parts")
        raise AssertionError("every cell has a candidate, so the search always ends")

    def _answer(self, state: State, parent: dict[State, tuple[State, tuple[str, int, int]]],
                total: int) -> TripPlan:
        moves = []
        while state in parent:
            state, move = parent[state]
            moves.append(move)
        moves.reverse()
        # replay: (candidate, last day) names interchangeable plans; take the fullest one
        placed: list[tuple[int, int, int, list[tuple[date, str]]]] = []
        for i, (kind, k, end) in enumerate(moves):
            if kind == "new":
                placed.append((k, end, self.caps[k], []))
            twins = [p for p in placed if p[0] == k and p[1] == end
                     and len(p[3]) < p[2]]
            max(twins, key=lambda p: p[2] - len(p[3]))[3].append(self.cells[i])
        out = [Placement(self.cands[k].key, self.day0 + timedelta(
            days=end - self.cands[k].validity_days + 1), self.day0 + timedelta(days=end),
            self.cands[k].price, tuple(cells)) for k, end, _, cells in placed]
        out.sort(key=lambda p: (p.start, p.key))
        return TripPlan(tuple(out), total)


def _undominated(cands: list[Candidate], caps: list[int]) -> list[int]:
    """Indexes of the candidates worth trying: one that covers no more countries, lasts no
    longer, holds no more days of data and costs no less than another is never needed."""
    def beats(a: int, b: int) -> bool:  # a is at least as good as b
        ca, cb = cands[a], cands[b]
        return (cb.countries <= ca.countries and cb.validity_days <= ca.validity_days
                and caps[b] <= caps[a] and cb.price >= ca.price)
    n = len(cands)
    return [b for b in range(n)
            if not any(beats(a, b) and (not beats(b, a) or a < b) for a in range(n) if a != b)]
