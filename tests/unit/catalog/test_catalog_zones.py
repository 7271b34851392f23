"""Zones: validation, coverage, listing."""

from __future__ import annotations

import pytest

from topup.catalog.errors import InvalidCatalogEntry
from topup.catalog.service import list_zones, upsert_zone, zone_covers, zones_covering
from topup.db.uow import UnitOfWork


def test_a_country_zone_covers_itself(catalog_uow: UnitOfWork) -> None:
    upsert_zone(catalog_uow, "th", "country", "Thailand", "泰国", [])
    assert zone_covers(catalog_uow, "TH", "th")
    assert list_zones(catalog_uow) == [
        {"code": "TH", "kind": "country", "name_en": "Thailand", "name_zh": "泰国",
         "countries": ["TH"]}
    ]


def test_zones_covering_lists_the_country_first_then_regions(world: UnitOfWork) -> None:
    assert zones_covering(world, "TH") == ["TH", "GLOBAL", "SEA"]
    assert zones_covering(world, "IT") == ["EU", "GLOBAL"]
    assert zones_covering(world, "BR") == []
    assert not zone_covers(world, "SEA", "FR")


def test_upsert_replaces_the_countries_of_a_region(world: UnitOfWork) -> None:
    upsert_zone(world, "SEA", "region", "South-East Asia", "东南亚", ["TH", "VN"])
    assert zones_covering(world, "MY") == ["MY", "GLOBAL"]
    assert zone_covers(world, "SEA", "VN")
    names = {z["code"]: z for z in list_zones(world)}
    assert names["SEA"]["countries"] == ["TH", "VN"]
    assert [z["kind"] for z in list_zones(world)][:6] == ["country"] * 6


@pytest.mark.parametrize(
    ("code", "kind", "countries", "message"),
    [
        ("UK", "country", [], "unknown country code"),
        ("EU", "country", [], "unknown country code"),
        ("SEA", "region", ["TH", "XX"], "unknown country code"),
        ("SEA", "region", [], "covers no country"),
        ("TH", "region", ["TH"], "not a country code"),
        ("sea asia", "region", ["TH"], "must be 2-16"),
        ("SEA", "continent", ["TH"], "zone kind"),
    ],
)
def test_bad_zones_are_refused(
    catalog_uow: UnitOfWork, code: str, kind: str, countries: list[str], message: str
) -> None:
    with pytest.raises(InvalidCatalogEntry, match=message):
        upsert_zone(catalog_uow, code, kind, "Name", "名称", countries)


def test_a_zone_needs_both_names(catalog_uow: UnitOfWork) -> None:
    with pytest.raises(InvalidCatalogEntry, match="Chinese name"):
        upsert_zone(catalog_uow, "TH", "country", "Thailand", " ", [])
