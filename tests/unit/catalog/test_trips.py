"""The trip planner against a brute-force search over small catalogues: never dearer than the
best combination, and always covering every day in every country and the data."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from topup.catalog.errors import InvalidTrip
from topup.catalog.trips import MIB, Candidate, Leg, Placement, cells_of, plan_trip

DAY0 = date(2027, 5, 3)
USE = 1000 * MIB


def _legs(n: int, spans: list[tuple[int, int]], countries: list[str]) -> list[Leg]:
    return [Leg(countries[i], DAY0 + timedelta(days=a), DAY0 + timedelta(days=a + b))
            for i, (a, b) in enumerate(spans[:n])]


def _fits(cells: list[tuple[date, str]], placed: list[tuple[Candidate, date]]) -> bool:
    """Whether the cells can be shared out among the placed plans (backtracking)."""
    room = [c.data_bytes // USE for c, _ in placed]

    def go(i: int) -> bool:
        if i == len(cells):
            return True
        day, country = cells[i]
        for n, (cand, start) in enumerate(placed):
            if room[n] and country in cand.countries and \
                    start <= day < start + timedelta(days=cand.validity_days):
                room[n] -= 1
                if go(i + 1):
                    return True
                room[n] += 1
        return False
    return go(0)


def brute_force(legs: list[Leg], cands: list[Candidate]) -> int | None:
    """The cheapest multiset of (plan, start day) that covers the trip, or None."""
    cells = cells_of(legs)
    first, last = cells[0][0], cells[-1][0]
    starts = [first + timedelta(days=n) for n in range(-1, (last - first).days + 1)]
    options = list(itertools.product(cands, starts))
    best = None
    for size in range(len(cells) + 1):
        for combo in itertools.combinations_with_replacement(range(len(options)), size):
            cost = sum(options[n][0].price for n in combo)
            if (best is None or cost < best) and _fits(cells, [options[n] for n in combo]):
                best = cost
    return best


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


countries = st.lists(st.sampled_from(["JP", "KR", "TH"]), min_size=3, max_size=3)
spans = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=3, max_size=3)
candidate = st.builds(
    lambda zone, days, units, price: (zone, days, units, price),
    st.sampled_from([("JP",), ("KR",), ("TH",), ("JP", "KR"), ("JP", "KR", "TH")]),
    st.integers(1, 4), st.sampled_from([0, 1, 2, 3, 5, 10]), st.integers(1, 60))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), spans, countries, st.lists(candidate, min_size=1, max_size=3))
def test_never_dearer_than_brute_force_and_always_covers(n, spans, countries, raw) -> None:
    legs = _legs(n, spans, countries)
    cells = cells_of(legs)
    assume((cells[-1][0] - cells[0][0]).days <= 4 and len(cells) <= 6)  # a small brute force
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
