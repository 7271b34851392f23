"""Top-up limits, presets, out-of-bundle rates and charges."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.catalog.errors import InvalidCatalogEntry, TopupOutOfLimits, UnknownZone
from topup.catalog.service import (
    check_topup_amount,
    oob_charge,
    oob_rate,
    presets,
    set_oob_rate,
    set_presets,
    set_topup_limit,
    topup_limit,
)
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.money import Money

MIB = 1024 * 1024


def test_limit_precedence_country_then_tightest_region_then_default(world: UnitOfWork
                                                                     ) -> None:
    set_topup_limit(world, "GLOBAL", "CNY", 1000, 500000)
    set_topup_limit(world, "SEA", "CNY", 500, 200000)
    set_topup_limit(world, "CN", "CNY", 2000, 1_000000)
    # the country's own row wins, even when looser than GLOBAL's maximum
    assert topup_limit(world, "CN", "CNY") == (2000, 1_000000)
    # TH has no row: tightest of SEA and GLOBAL, taken bound by bound
    assert topup_limit(world, "th", "CNY") == (1000, 200000)
    assert topup_limit(world, "FR", "CNY") == (1000, 500000)
    assert topup_limit(world, None, "CNY") == (1000, 500000)
    # no row covers the line: the per-currency default, never unlimited
    assert topup_limit(world, "BR", "CNY") == (1, 10_000_00)
    assert topup_limit(world, "TH", "USD") == (1, 1_500_00)
    assert topup_limit(world, "TH", "CHF") == (1, 1_000_00), "unlisted: 1,000 major units"
    assert topup_limit(world, "TH", "KWD") == (1, 1_000_000), "KWD has three decimals"


def test_check_topup_amount(world: UnitOfWork) -> None:
    set_topup_limit(world, "GLOBAL", "CNY", 1000, 500000)
    set_topup_limit(world, "SEA", "CNY", 500, 200000)
    check_topup_amount(world, "TH", Money(1000, "CNY"))
    check_topup_amount(world, "TH", Money(200000, "CNY"))
    check_topup_amount(world, "BR", Money(1, "CNY"))
    check_topup_amount(world, "TH", Money(1, "USD"))
    with pytest.raises(TopupOutOfLimits):
        check_topup_amount(world, "TH", Money(1_500_01, "USD"))
    with pytest.raises(TopupOutOfLimits) as info:
        check_topup_amount(world, "TH", Money(200001, "CNY"))
    assert info.value.extra == {"currency": "CNY", "min_amount": 1000, "max_amount": 200000}
    assert isinstance(info.value, InvalidInput)
    assert "10.00 CNY" in info.value.detail
    with pytest.raises(TopupOutOfLimits):
        check_topup_amount(world, None, Money(999, "CNY"))


def test_setting_a_limit_twice_replaces_it(world: UnitOfWork) -> None:
    set_topup_limit(world, "TH", "THB", 10000, 1000000)
    set_topup_limit(world, "TH", "THB", 5000, 500000)
    assert topup_limit(world, "TH", "THB") == (5000, 500000)


@pytest.mark.parametrize(("low", "high"), [(0, 100), (100, 99), (-1, 5), (1, 0)])
def test_bad_limits_are_refused(world: UnitOfWork, low: int, high: int) -> None:
    with pytest.raises(InvalidCatalogEntry):
        set_topup_limit(world, "TH", "THB", low, high)


def test_limits_and_rates_need_a_known_zone(world: UnitOfWork) -> None:
    with pytest.raises(UnknownZone):
        set_topup_limit(world, "XX", "CNY", 1, 2)
    with pytest.raises(UnknownZone):
        set_oob_rate(world, "MARS", "CNY", "data", 1, 1)


def test_presets_replace_and_sort(world: UnitOfWork) -> None:
    set_presets(world, "cny", [20000, 5000, 10000, 5000])
    assert presets(world, "CNY") == [5000, 10000, 20000]
    set_presets(world, "CNY", [50000])
    assert presets(world, "CNY") == [50000]
    assert presets(world, "USD") == []
    with pytest.raises(InvalidCatalogEntry):
        set_presets(world, "CNY", [0])


def test_oob_rate_country_first_else_cheapest_region(world: UnitOfWork) -> None:
    set_oob_rate(world, "GLOBAL", "CNY", "data", 100, MIB)
    set_oob_rate(world, "SEA", "CNY", "data", 333333, 1_000000)  # 0.333333 per byte...
    set_oob_rate(world, "EU", "CNY", "data", 1, 3)  # ...a hair dearer than 1/3 per byte
    set_oob_rate(world, "TH", "CNY", "data", 500, MIB)  # dearer than GLOBAL, but its own
    assert oob_rate(world, "TH", "CNY", "data") == (500, MIB)
    assert oob_rate(world, "MY", "CNY", "data") == (100, MIB)
    assert oob_rate(world, "JP", "CNY", "data") == (100, MIB)
    assert oob_rate(world, "BR", "CNY", "data") is None
    assert oob_rate(world, "MY", "CNY", "voice") is None
    set_oob_rate(world, "GLOBAL", "CNY", "data", 1, 2)  # now dearer than both SEA and EU
    assert oob_rate(world, "MY", "CNY", "data") == (333333, 1_000000)
    assert oob_rate(world, "FR", "CNY", "data") == (1, 3)
    with pytest.raises(InvalidCatalogEntry):
        oob_rate(world, "TH", "CNY", "fax")


def test_oob_charge_rounds_up_to_a_whole_minor_unit() -> None:
    assert oob_charge(100, MIB, 0) == 0
    assert oob_charge(100, MIB, 1) == 1
    assert oob_charge(100, MIB, MIB) == 100
    assert oob_charge(100, MIB, MIB + 1) == 101
    assert oob_charge(200, 60, 61) == 204
    assert oob_charge(10**12, 1, 10**12) == 10**24
    with pytest.raises(InvalidCatalogEntry):
        oob_charge(0, 1, 1)
    with pytest.raises(InvalidCatalogEntry):
        oob_charge(1, 1, -1)


@given(
    rate=st.integers(min_value=1, max_value=10**9),
    per=st.integers(min_value=1, max_value=10**12),
    qty=st.integers(min_value=1, max_value=10**15),
)
def test_oob_charge_is_the_smallest_covering_amount(rate: int, per: int, qty: int) -> None:
    charge = oob_charge(rate, per, qty)
    assert charge * per >= rate * qty
    assert (charge - 1) * per < rate * qty
