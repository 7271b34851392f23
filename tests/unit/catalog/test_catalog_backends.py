"""The catalogue on the migrated schema, on SQLite and on PostgreSQL (shared ``db`` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from topup.catalog.service import (
    PlanSpec,
    get_plan_by_code,
    list_plans,
    oob_rate,
    topup_limit,
    upsert_plan,
)
from topup.catalog.tables import plan_prices
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog


def test_demo_catalogue_on_each_backend(db: Database) -> None:
    for _ in range(2):
        with db.unit() as uow:
            seed_catalog(uow)
    with db.unit() as uow:
        codes = [p.code for p in list_plans(uow, country="th", currency="THB", kind="week")]
        assert codes[:2] == ["TH-7D-10GB", "TH-15D-30GB"]
        assert {"SEA-7D-6GB", "ASIA-14D-10GB", "GLOBAL-7D-3GB"} <= set(codes)
        assert [p.code for p in list_plans(uow, q="泰国 7天")] == ["TH-7D-10GB"]
        assert [p.code for p in list_plans(uow, q="hong kong & MACAO")] == ["HKMO-5D-5GB"]
        assert list_plans(uow, q="10_GB") == []
        assert topup_limit(uow, "SG", "USD") == (200, 50000)
        assert oob_rate(uow, "VN", "CNY", "data") == (60, 1024 * 1024)


def test_sale_window_and_constraints_on_each_backend(db: Database) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
        now = uow.now
        upsert_plan(uow, PlanSpec(
            code="TH-PROMO", name_en="Songkran promo", name_zh="泼水节特惠", zone_code="TH",
            kind="week", data_bytes=1, validity_days=7, sale_from=now,
            sale_until=now + timedelta(days=1), prices={"CNY": 100}))
    with db.unit() as uow:
        on_sale = [p.code for p in list_plans(uow, zone="TH", on_sale_at=now)]
        later = [p.code for p in list_plans(uow, zone="TH", on_sale_at=now + timedelta(days=1))]
        assert "TH-PROMO" in on_sale and "TH-PROMO" not in later
    with db.unit() as uow:
        plan_id = get_plan_by_code(uow, "TH-PROMO").id
    with pytest.raises(IntegrityError), db.unit() as uow:
        uow.conn.execute(plan_prices.update().where(plan_prices.c.plan_id == plan_id)
                         .values(amount=0))
