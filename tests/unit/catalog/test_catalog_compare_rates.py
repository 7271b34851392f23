"""Per GB and per day from a quote (rounded half up), the ids a comparison accepts, names of
places in both languages, and the rates of a country per MB, minute and SMS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.catalog import places, rates
from topup.catalog.compare import GIB, parse_ids, per_unit, plans_to_compare
from topup.catalog.errors import InvalidComparison, RatesNotFound
from topup.catalog.quotes import price
from topup.catalog.service import PlanSpec, set_oob_rate, upsert_plan
from topup.db.uow import UnitOfWork
from topup.money import CurrencyNotOffered

AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_per_gb_and_per_day_divide_the_quote(world: UnitOfWork,
                                             spec: Callable[..., PlanSpec]) -> None:
    plan = upsert_plan(world, spec())  # 49.00 CNY, 10 GB, 7 days
    per = per_unit(plan, price(world, plan, "CNY", AT, "web"))
    assert (per.currency, per.per_gb, per.per_day) == ("CNY", 490, 700)
    odd = upsert_plan(world, spec(code="ODD", data_bytes=3 * GIB, validity_days=8,
                                  prices={"CNY": 99_00}))
    per = per_unit(odd, price(world, odd, "CNY", AT, "web"))
    assert (per.per_gb, per.per_day) == (3300, 1238)  # 12.375 rounds half up
    calls = upsert_plan(world, spec(code="CALLS", data_bytes=0, voice_seconds=6000))
    assert per_unit(calls, price(world, calls, "CNY", AT, "web")).per_gb is None


@given(total=st.integers(1, 10**12), days=st.integers(1, 3650))
def test_per_day_is_the_nearest_minor_unit(total: int, days: int) -> None:
    from topup.catalog.compare import _half_up

    got = _half_up(total, days)
    assert 2 * total - days < 2 * got * days <= 2 * total + days  # nearest, ties go up
    assert (_half_up(1, 2), _half_up(3, 2), _half_up(5, 4)) == (1, 2, 1)


def test_ids_to_compare() -> None:
    assert parse_ids(["3", "1,2", "3"]) == [3, 1, 2]
    assert parse_ids([" 4 , ", "5"]) == [4, 5]
    for raw, reason in ((["1,2,3,4,5"], "too_many"), ([], "none"), ([","], "none"),
                        (["x"], "bad_id"), (["0"], "bad_id"), (["-1"], "bad_id"),
                        ([str(2**63)], "bad_id"), (["1.5"], "bad_id")):
        with pytest.raises(InvalidComparison) as caught:
            parse_ids(raw)
        assert caught.value.extra["reason"] == reason, raw


def test_a_plan_off_sale_or_missing_cannot_be_compared(world: UnitOfWork,
                                                      spec: Callable[..., PlanSpec]) -> None:
    on = upsert_plan(world, spec())
    off = upsert_plan(world, spec(code="OFF", active=False))
    assert [p.code for p in plans_to_compare(world, [on.id], AT)] == ["TH-7D-10GB"]
    for ids in ([on.id, off.id], [on.id, 999]):
        with pytest.raises(InvalidComparison):
            plans_to_compare(world, ids, AT)


def test_places_are_named_by_the_operator_then_by_cldr(world: UnitOfWork) -> None:
    assert places.place_names(world, "en", ["TH", "SEA", "IT", "XX"]) == {
        "TH": "Thailand", "SEA": "South-East Asia", "IT": "Italy", "XX": "XX"}
    assert places.place_names(world, "zh-CN", ["TH", "SEA", "IT", "US"]) == {
        "TH": "泰国", "SEA": "东南亚", "IT": "意大利", "US": "美国"}
    assert places.country_name("jp", "zh_CN") == "日本"


def test_a_country_s_rates_per_unit(world: UnitOfWork) -> None:
    set_oob_rate(world, "SEA", "CNY", "data", 80, 1024 * 1024)
    set_oob_rate(world, "GLOBAL", "CNY", "data", 100, 1024 * 1024)
    set_oob_rate(world, "GLOBAL", "CNY", "voice", 1, 1)  # a fen a second
    found = rates.country_rates(world, "th", "cny")
    assert found.country == "TH" and found.units["sms"] is None
    data, voice = found.units["data"], found.units["voice"]
    assert data is not None and voice is not None
    assert (data.per, data.amount, str(data.money)) == ("MB", 80, "0.80 CNY")
    assert (voice.per, voice.amount) == ("minute", 60)
    assert rates.rated_countries(world) == ["CN", "DE", "FR", "IT", "JP", "MY", "TH", "US"]
    assert rates.rated_countries(world, "USD") == []
    with pytest.raises(RatesNotFound):
        rates.country_rates(world, "TH", "USD")  # sold, but no rate in it
    with pytest.raises(RatesNotFound):
        rates.country_rates(world, "UK", "CNY")
    with pytest.raises(CurrencyNotOffered):
        rates.country_rates(world, "TH", "CHF")
