"""Importing plans from CSV: exact prices, units, and all-or-nothing on bad rows."""

from __future__ import annotations

import csv
import io

import pytest

from topup.catalog.errors import InvalidPlan
from topup.catalog.importer import import_plans_csv
from topup.catalog.service import get_plan_by_code, list_plans
from topup.db.uow import Database, UnitOfWork

HEADER = ("code,name_en,name_zh,zone,kind,data_mb,voice_min,sms,validity_days,validity_start,"
          "priority,price_CNY,price_USD,price_JPY\n")
TH = "TH-7D-10GB,Thailand 7 days 10 GB,泰国 7天 10GB,TH,week,10240,,,7,,,99.9,13.99,2100\n"
SEA = ("SEA-30D-1.5GB,SEA 30 days 1.5 GB,东南亚 30天 1.5GB,SEA,month,1536,100,50,30,first_use,"
       "50,139,,3000\n")


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_import_parses_prices_and_units_exactly(world: UnitOfWork) -> None:
    assert import_plans_csv(world, rows(HEADER + TH + SEA)) == 2
    th = get_plan_by_code(world, "TH-7D-10GB")
    assert th.prices == {"CNY": 9990, "USD": 1399, "JPY": 2100}
    assert (th.data_bytes, th.voice_seconds, th.sms_count) == (10 * 1024**3, 0, 0)
    assert (th.validity_start, th.priority, th.kind, th.zone_code) == ("purchase", 100, "week",
                                                                       "TH")
    sea = get_plan_by_code(world, "SEA-30D-1.5GB")
    assert sea.prices == {"CNY": 13900, "JPY": 3000}
    assert (sea.data_bytes, sea.voice_seconds, sea.sms_count) == (1536 * 1024**2, 6000, 50)
    assert (sea.validity_start, sea.priority) == ("first_use", 50)


def test_reimport_updates_in_place(world: UnitOfWork) -> None:
    import_plans_csv(world, rows(HEADER + TH))
    first = get_plan_by_code(world, "TH-7D-10GB")
    import_plans_csv(world, rows(HEADER + TH.replace("99.9,13.99,2100", "89,,")))
    again = get_plan_by_code(world, "TH-7D-10GB")
    assert again.id == first.id
    assert again.prices == {"CNY": 8900}


@pytest.mark.parametrize(
    ("bad_row", "message"),
    [
        (TH.replace("99.9,", "99.999,"), "CNY has 2 decimal places"),
        (TH.replace(",2100", ",2100.5"), "JPY has 0 decimal places"),
        (TH.replace(",13.99,", ",abc,"), "not a number"),
        (TH.replace("99.9,13.99,2100", ",,"), "no price"),
        (TH.replace(",TH,", ",ATLANTIS,"), "no zone 'ATLANTIS'"),
        (TH.replace(",week,", ",fortnight,"), "kind must be"),
        (TH.replace(",10240,", ",lots,"), "data_mb is not a number"),
        (TH.replace(",10240,", ",0.0000001,"), "data_mb must be a non-negative whole"),
        (TH.replace(",7,", ",0,"), "validity_days must be a positive"),
        (TH.replace(",10240,", ",,"), "grant some data"),
        (TH.replace(",2100", ",2100,extra"), "number of cells"),
        (TH.replace(",2100", ""), "number of cells"),
        (TH, "also on row 2"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_imported(
    world_db: Database, bad_row: str, message: str
) -> None:
    text = HEADER + TH + SEA + bad_row
    with pytest.raises(InvalidPlan, match=f"^row 4: .*{message}") as info, world_db.unit() as uow:
        import_plans_csv(uow, rows(text))
    assert info.value.extra["row"] == 4
    with world_db.unit() as uow:
        assert list_plans(uow, include_inactive=True) == []


def test_a_bad_header_is_refused(world: UnitOfWork) -> None:
    with pytest.raises(InvalidPlan, match=r"row 1: missing columns \['zone'\]"):
        import_plans_csv(world, rows(HEADER.replace("zone,", "region,") + TH))
    with pytest.raises(InvalidPlan, match=r"unknown columns \['notes'\]"):
        import_plans_csv(world, rows(HEADER.replace("\n", ",notes\n") + TH.replace("\n", ",x\n")))


def test_an_empty_file_imports_nothing(world: UnitOfWork) -> None:
    assert import_plans_csv(world, rows(HEADER)) == 0
