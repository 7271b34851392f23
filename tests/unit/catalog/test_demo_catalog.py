"""The demo catalogue loads, is realistic enough, and loads again without change."""

from __future__ import annotations

from topup.catalog.service import (
    get_plan_by_code,
    list_plans,
    list_zones,
    oob_rate,
    presets,
    price_of,
    topup_limit,
)
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.money import Money


def _snapshot(db: Database) -> tuple[object, ...]:
    with db.unit() as uow:
        plans = list_plans(uow, include_inactive=True)
        return (list_zones(uow), plans, presets(uow, "CNY"), topup_limit(uow, "TH", "THB"),
                oob_rate(uow, "FR", "EUR", "data"))


def test_seeding_twice_is_idempotent(catalog_db: Database) -> None:
    with catalog_db.unit() as uow:
        seed_catalog(uow)
    first = _snapshot(catalog_db)
    with catalog_db.unit() as uow:
        seed_catalog(uow)
    assert _snapshot(catalog_db) == first


def test_the_demo_catalogue_is_realistic(catalog_db: Database) -> None:
    with catalog_db.unit() as uow:
        seed_catalog(uow)
        zones = list_zones(uow)
        assert sum(z["kind"] == "country" for z in zones) >= 10
        regions = {z["code"] for z in zones if z["kind"] == "region"}
        assert {"EU", "SEA", "ASIA", "GLOBAL"} <= regions
        plans = list_plans(uow)
        assert {p.kind for p in plans} == {"day", "week", "month", "quarter", "year", "addon"}
        assert any(p.validity_start == "first_use" for p in plans)
        th = [p.zone_code for p in list_plans(uow, country="TH")]
        assert {"TH", "SEA", "ASIA", "GLOBAL"} <= set(th)
        assert th[0] == "TH"
        plan = get_plan_by_code(uow, "TH-7D-10GB")
        assert plan.name("zh-CN") == "泰国 7天 10GB"
        assert price_of(plan, "CNY") == Money(4900, "CNY")
        assert price_of(plan, "JPY") == Money(1030, "JPY")
        assert presets(uow, "CNY") == [5000, 10000, 20000, 50000]
        assert presets(uow, "JPY") == [1000, 3000, 5000, 10000]
        assert topup_limit(uow, "CN", "CNY") == (1000, 200000)
        assert topup_limit(uow, "KR", "CNY") == (1000, 500000)
        assert oob_rate(uow, "FR", "EUR", "data") == (8, 1024 * 1024)
        assert oob_rate(uow, "BR", "CNY", "voice") is None
