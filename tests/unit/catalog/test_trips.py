"""The trip planner against a brute-force search over small catalogues: never dearer than the
best combination, and always covering every day in every country and the data."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from topup.catalog import trips
from topup.catalog.errors import InvalidTrip, TripTooComplex
from topup.catalog.trips import MIB, Candidate, Leg, Placement, cells_of, plan_trip

DAY0 = date(2027, 5, 3)
USE = 1000 * MIB


def _legs(n: int, spans: list[tuple[int, int]], countries: list[str]) -> list[Leg]:
    return [Leg(countries[i], DAY0 + timedelta(days=a), DAY0 + timedelta(days=a + b))
            for i, (a, b) in enumerate(spans[:n])]


def brute_force(legs: list[Leg], cands: list[Candidate]) -> int | None:
    """The cheapest cover by exhaustive search: each cell, in turn, joins a plan already
    bought (valid that day, in that country, with data left) or a new plan of any candidate
    started on any day that reaches it (from the day before the trip). Only cost prunes."""
    cells = cells_of(legs)
    best: list[int | None] = [None]
    bought: list[list[int]] = []  # [candidate index, start ordinal, cells left]

    def valid(k: int, start: int, day: date, country: str) -> bool:
        return country in cands[k].countries and \
            start <= day.toordinal() < start + cands[k].validity_days

    def go(i: int, cost: int) -> None:
        if best[0] is not None and cost >= best[0]:
            return
        if i == len(cells):
            best[0] = cost
            return
        day, country = cells[i]
        for p in bought:
            if p[2] and valid(p[0], p[1], day, country):
                p[2] -= 1
                go(i + 1, cost)
                p[2] += 1
        first = cells[0][0].toordinal() - 1
        for k, cand in enumerate(cands):
            room = cand.data_bytes // USE
            for start in range(max(first, day.toordinal() - cand.validity_days + 1),
                               day.toordinal() + 1):
                if room and valid(k, start, day, country):
                    bought.append([k, start, room - 1])
                    go(i + 1, cost + cand.price)
                    bought.pop()
    go(0, 0)
    return best[0]


def assert_covers(legs: list[Leg], cands: list[Candidate], placements: tuple[Placement, ...],
                  total: int) -> None:
    by_key = {c.key: c for c in cands}
    assigned = [cell for p in placements for cell in p.cells]
    assert sorted(assigned) == cells_of(legs)  # every cell once, none twice
    for p in placements:
        cand = by_key[p.key]
        assert p.end - p.start == timedelta(days=cand.validity_days - 1)
        assert p.price == cand.price
        assert len(p.cells) * USE <= cand.data_bytes  # the data of its days
        for day, country in p.cells:
            assert p.start <= day <= p.end and country in cand.countries
    assert total == sum(p.price for p in placements)


countries = st.lists(st.sampled_from(["JP", "KR", "TH"]), min_size=4, max_size=4)
spans = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), min_size=4, max_size=4)
candidate = st.builds(
    lambda zone, days, units, price: (zone, days, units, price),
    st.sampled_from([("JP",), ("KR",), ("TH",), ("JP", "KR"), ("JP", "KR", "TH")]),
    st.integers(1, 5), st.sampled_from([0, 1, 2, 3, 5, 10]), st.integers(1, 60))


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), spans, countries, st.lists(candidate, min_size=1, max_size=4))
def test_never_dearer_than_brute_force_and_always_covers(n, spans, countries, raw) -> None:
    legs = _legs(n, spans, countries)
    cells = cells_of(legs)
    assume(len(cells) <= 8)  # a brute force that ends
    cands = [Candidate(i + 1, frozenset(z), d, u * USE + (USE // 2 if u else 0), p)
             for i, (z, d, u, p) in enumerate(raw)]
    found = plan_trip(legs, USE, cands)
    best = brute_force(legs, cands)
    if best is None:
        assert found.uncovered and not found.placements
        return
    assert not found.uncovered
    assert found.total <= best  # and, being a valid cover, never cheaper than the best
    assert_covers(legs, cands, found.placements, found.total)
    assert found.total == best


def test_japan_then_korea_takes_the_regional_plan_when_it_is_cheaper() -> None:
    legs = [Leg("JP", date(2027, 5, 3), date(2027, 5, 10)),
            Leg("KR", date(2027, 5, 10), date(2027, 5, 14))]
    jp7, jp3 = Candidate(1, frozenset({"JP"}), 7, 10 * 1024 * MIB, 9000), \
        Candidate(2, frozenset({"JP"}), 3, 3 * 1024 * MIB, 4000)
    kr5 = Candidate(3, frozenset({"KR"}), 5, 5 * 1024 * MIB, 6000)
    asia = Candidate(4, frozenset({"JP", "KR", "TH"}), 15, 20 * 1024 * MIB, 17000)
    found = plan_trip(legs, USE, [jp7, jp3, kr5])
    # 8 days of Japan: three 3-day plans (12000) beat a 7-day and a 3-day one (13000)
    assert found.total == 3 * 4000 + 6000
    assert_covers(legs, [jp7, jp3, kr5], found.placements, found.total)
    cheaper = plan_trip(legs, USE, [jp7, jp3, kr5, asia])
    assert [p.key for p in cheaper.placements] == [4] and cheaper.total == 17000
    assert cheaper.placements[0].start == date(2027, 5, 3)


def test_the_transit_day_needs_both_countries() -> None:
    legs = [Leg("JP", DAY0, DAY0), Leg("KR", DAY0, DAY0)]
    jp = Candidate(1, frozenset({"JP"}), 1, 5 * USE, 100)
    assert plan_trip(legs, USE, [jp]).uncovered == ("KR",)
    kr = Candidate(2, frozenset({"KR"}), 1, 5 * USE, 100)
    assert plan_trip(legs, USE, [jp, kr]).total == 200


def test_data_too_small_for_a_day_covers_nothing() -> None:
    legs = [Leg("TH", DAY0, DAY0 + timedelta(days=1))]
    small = Candidate(1, frozenset({"TH"}), 30, USE - 1, 10)
    assert plan_trip(legs, USE, [small]).uncovered == ("TH",)
    assert plan_trip(legs, USE - 1, [small]).uncovered == ()  # light enough: one plan


def test_heavy_use_buys_more_data_than_days() -> None:
    legs = [Leg("TH", DAY0, DAY0 + timedelta(days=5))]  # 6 days, 1 GB each
    three_gb = Candidate(1, frozenset({"TH"}), 30, 3 * USE, 50)
    found = plan_trip(legs, USE, [three_gb])
    assert found.total == 100 and len(found.placements) == 2


def test_bad_trips_are_refused() -> None:
    with pytest.raises(InvalidTrip):
        plan_trip([Leg("JP", DAY0, DAY0 - timedelta(days=1))], USE, [])
    with pytest.raises(InvalidTrip):
        plan_trip([], USE, [])
    with pytest.raises(InvalidTrip):
        plan_trip([Leg("JP", DAY0, DAY0)], 0, [])


def test_a_search_too_large_gives_up_with_a_clear_error(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    monkeypatch.setattr(trips, "MAX_STATES", 50)
    legs = [Leg(c, DAY0 + timedelta(days=5 * n), DAY0 + timedelta(days=5 * n + 5))
            for n, c in enumerate(["JP", "KR", "TH"])]
    cands = [Candidate(n, frozenset(z), d, g * USE, 10 * d + n)
             for n, (z, d, g) in enumerate(itertools.product(
                 [("JP",), ("KR",), ("TH",), ("JP", "KR", "TH")], [1, 3, 7], [1, 2]))]
    with pytest.raises(TripTooComplex, match="plan it in parts"):
        plan_trip(legs, USE, cands)
    monkeypatch.setattr(trips, "MAX_STATES", 50_000)
    assert plan_trip(legs, USE, cands).total > 0
