"""Plans: definition, lookup, filters, prices and sale windows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from topup.catalog.errors import (
    CatalogError,
    InvalidPlan,
    PlanNotFound,
    PlanNotOnSale,
    PriceNotAvailable,
    UnknownZone,
)
from topup.catalog.service import (
    Plan,
    PlanSpec,
    ensure_on_sale,
    get_plan,
    get_plan_by_code,
    list_plans,
    price_of,
    upsert_plan,
)
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput, NotFound
from topup.money import Money

GB = 1024**3
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)  # the frozen clock of conftest

Spec = Callable[..., PlanSpec]


def test_upsert_creates_then_updates_in_place(world: UnitOfWork, spec: Spec) -> None:
    first = upsert_plan(world, spec(code="th-7d-10gb"))
    assert first.code == "TH-7D-10GB"
    assert first.prices == {"CNY": 4900, "USD": 699}
    assert first.countries == ("TH",)
    assert first.created_at == START
    again = upsert_plan(world, spec(prices={"THB": 23900}, priority=50))
    assert again.id == first.id
    assert again.prices == {"THB": 23900}
    assert again.priority == 50
    assert get_plan(world, first.id) == again
    assert get_plan_by_code(world, "th-7d-10GB") == again


def test_a_region_plan_lists_its_countries_sorted(world: UnitOfWork, spec: Spec) -> None:
    plan = upsert_plan(world, spec(code="EU-7D-5GB", zone_code="eu"))
    assert plan.zone_code == "EU"
    assert plan.countries == ("DE", "FR", "IT")


def test_missing_plans_raise_not_found(world: UnitOfWork) -> None:
    with pytest.raises(PlanNotFound) as info:
        get_plan(world, 999)
    assert isinstance(info.value, NotFound) and isinstance(info.value, CatalogError)
    with pytest.raises(PlanNotFound):
        get_plan_by_code(world, "NOPE")


def test_name_follows_the_language(world: UnitOfWork, spec: Spec) -> None:
    plan = upsert_plan(world, spec())
    assert plan.name("zh-CN") == plan.name("zh") == "泰国 7天 10GB"
    assert plan.name("en") == plan.name("fr") == "Thailand 7 days 10 GB"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "TH 7D"}, "plan code"),
        ({"name_zh": ""}, "Chinese name"),
        ({"name_en": "x" * 121}, "1-120 characters"),
        ({"kind": "fortnight"}, "kind must be"),
        ({"validity_start": "activation"}, "validity_start"),
        ({"data_bytes": 0}, "grant some data"),
        ({"data_bytes": -1}, "data_bytes"),
        ({"validity_days": 0}, "validity_days"),
        ({"priority": -5}, "priority"),
        ({"prices": {"CNY": 0}}, "positive"),
        ({"prices": {"XYZ": 100}}, "unknown currency"),
        ({"prices": {"cny": 100, "CNY": 200}}, "two prices"),
        ({"sale_from": START, "sale_until": START}, "before sale_until"),
        ({"sale_from": START.replace(tzinfo=None)}, "timezone-aware"),
    ],
)
def test_bad_plans_are_refused(
    world: UnitOfWork, spec: Spec, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidPlan, match=message) as info:
        upsert_plan(world, spec(**changes))
    assert isinstance(info.value, InvalidInput)


def test_a_plan_needs_a_known_zone(world: UnitOfWork, spec: Spec) -> None:
    with pytest.raises(UnknownZone):
        upsert_plan(world, spec(zone_code="ATLANTIS"))


def test_voice_only_plans_are_fine(world: UnitOfWork, spec: Spec) -> None:
    plan = upsert_plan(world, spec(code="TH-VOICE", data_bytes=0, voice_seconds=6000))
    assert (plan.data_bytes, plan.voice_seconds, plan.sms_count) == (0, 6000, 0)


@pytest.fixture
def shelf(world: UnitOfWork, spec: Spec) -> UnitOfWork:
    """Thai, SEA, EU and GLOBAL plans; one inactive, one limited in time."""
    upsert_plan(world, spec(code="TH-30D-20GB", name_en="Thailand 30 days 20 GB",
                            name_zh="泰国 30天 20GB", kind="month", validity_days=30,
                            data_bytes=20 * GB, prices={"CNY": 9900}))
    upsert_plan(world, spec())
    upsert_plan(world, spec(code="TH-1D-1GB", name_en="Thailand 1 day 1 GB",
                            name_zh="泰国 1天 1GB", kind="day", validity_days=1, data_bytes=GB,
                            prices={"CNY": 990, "THB": 4900}))
    upsert_plan(world, spec(code="SEA-7D-6GB", name_en="South-East Asia 7 days 6 GB",
                            name_zh="东南亚 7天 6GB", zone_code="SEA", data_bytes=6 * GB))
    upsert_plan(world, spec(code="EU-7D-5GB", name_en="Europe 7 days 5 GB", name_zh="欧洲 7天 5GB",
                            zone_code="EU", data_bytes=5 * GB, prices={"EUR": 999}))
    upsert_plan(world, spec(code="GLOBAL-30D-10GB", name_en="Global 30 days 10 GB",
                            name_zh="全球 30天 10GB", zone_code="GLOBAL", kind="month",
                            validity_days=30, data_bytes=10 * GB))
    upsert_plan(world, spec(code="TH-OLD", name_en="Old Thailand plan", name_zh="旧泰国套餐",
                            active=False))
    upsert_plan(world, spec(code="TH-PROMO-50_OFF", name_en="Songkran 100% special",
                            name_zh="泼水节特惠", sale_from=START,
                            sale_until=START + timedelta(days=10)))
    return world


def _codes(plans: list[Plan]) -> list[str]:
    return [p.code for p in plans]


def test_country_filter_includes_region_plans_country_first(shelf: UnitOfWork) -> None:
    assert _codes(list_plans(shelf, country="th")) == [
        "TH-1D-1GB", "TH-7D-10GB", "TH-PROMO-50_OFF", "TH-30D-20GB",
        "SEA-7D-6GB", "GLOBAL-30D-10GB",
    ]
    assert _codes(list_plans(shelf, country="IT")) == ["EU-7D-5GB", "GLOBAL-30D-10GB"]
    assert list_plans(shelf, country="BR") == []


def test_zone_kind_and_currency_filters(shelf: UnitOfWork) -> None:
    assert _codes(list_plans(shelf, zone="sea")) == ["SEA-7D-6GB"]
    assert _codes(list_plans(shelf, kind="month")) == ["TH-30D-20GB", "GLOBAL-30D-10GB"]
    assert _codes(list_plans(shelf, currency="THB")) == ["TH-1D-1GB"]
    assert _codes(list_plans(shelf, country="FR", currency="EUR")) == ["EU-7D-5GB"]
    assert _codes(list_plans(shelf, currency="USD", zone="TH")) == [
        "TH-7D-10GB", "TH-PROMO-50_OFF"]


def test_text_search_is_case_insensitive_and_literal(shelf: UnitOfWork) -> None:
    assert _codes(list_plans(shelf, q="europe")) == ["EU-7D-5GB"]
    assert _codes(list_plans(shelf, q="东南亚")) == ["SEA-7D-6GB"]
    assert _codes(list_plans(shelf, q="th-1d")) == ["TH-1D-1GB"]
    assert _codes(list_plans(shelf, q="100%")) == ["TH-PROMO-50_OFF"]
    assert _codes(list_plans(shelf, q="50_o")) == ["TH-PROMO-50_OFF"]
    assert list_plans(shelf, q="0_GB") == []


def test_inactive_plans_only_on_request(shelf: UnitOfWork) -> None:
    assert "TH-OLD" not in _codes(list_plans(shelf))
    assert "TH-OLD" in _codes(list_plans(shelf, include_inactive=True))


def test_sale_window_is_half_open(shelf: UnitOfWork) -> None:
    promo = "TH-PROMO-50_OFF"
    end = START + timedelta(days=10)
    assert promo not in _codes(list_plans(shelf, on_sale_at=START - timedelta(seconds=1)))
    assert promo in _codes(list_plans(shelf, on_sale_at=START))
    assert promo in _codes(list_plans(shelf, on_sale_at=end - timedelta(microseconds=1)))
    assert promo not in _codes(list_plans(shelf, on_sale_at=end))
    assert "TH-7D-10GB" in _codes(list_plans(shelf, on_sale_at=end))
    plan = get_plan_by_code(shelf, promo)
    ensure_on_sale(plan, START)
    with pytest.raises(PlanNotOnSale, match="from"):
        ensure_on_sale(plan, START - timedelta(seconds=1))
    with pytest.raises(PlanNotOnSale, match="until"):
        ensure_on_sale(plan, end)
    with pytest.raises(PlanNotOnSale):
        ensure_on_sale(get_plan_by_code(shelf, "TH-OLD"), START)


def test_price_of(shelf: UnitOfWork) -> None:
    plan = get_plan_by_code(shelf, "TH-1D-1GB")
    assert price_of(plan, "cny") == Money(990, "CNY")
    with pytest.raises(PriceNotAvailable) as info:
        price_of(plan, "EUR")
    assert info.value.extra["available"] == ["CNY", "THB"]
