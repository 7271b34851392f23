"""The console's eSIM stock page: pools with their counts (a low pool marked), the pools the
SM-DP+ fills at the sale, and the latest moves of profiles, for every staff role."""

from __future__ import annotations

from dataclasses import replace

from tests.integration.admin.conftest import StaffBrowser
from tests.integration.esim.test_store import stock_up, vendor_rows
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.esim import inventory


def test_staff_read_the_stock_and_its_moves(db: Database, staff: StaffBrowser) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
    db.settings = replace(db.settings, esim_low_stock=2,
                          esim_on_demand=(("travel-eu", "EUROPE"),))
    made = stock_up(db, vendor_rows(2, zone="JP", ptype="jp-only"))
    stock_up(db, vendor_rows(3, zone="ASIA", ptype="asia"))
    with db.unit() as uow:
        inventory.note(uow, made[0].id, "smdp", "Executed-Success", point=4,
                       reported_at="2026-12-05T10:00:00Z")
    for role in ("admin", "support", "finance"):
        page = staff(role).get("/admin/esim")
        assert page.status_code == 200
    text = page.text
    assert 'data-pool="jp-only:JP" class="low"' in text
    assert 'data-pool="asia:ASIA"' in text and 'data-pool="asia:ASIA" class' not in text
    assert 'data-pool="travel-eu:EUROPE"' in text and "at the sale" in text
    assert made[0].iccid in text and "(point 4)" in text
    zh = staff("admin", lang="zh-CN").get("/admin/esim")
    assert "eSIM 库存" in zh.text
