"""GET /api/v1/trips/plan: the cheapest plans of the demo catalogue for a trip, public, in
the caller's language; a country no plan covers is said plainly; bad input is problem+json."""

from __future__ import annotations

from typing import Any

from tests.factories import Api
from topup.db.uow import Database

# the test clock is 2026-11-22
JAPAN_KOREA = "JP:2026-11-25:2026-12-02,KR:2026-12-02:2026-12-06"


def plan(api: Api, **params: str) -> Any:
    return api.client.get("/api/v1/trips/plan", params=params)


def test_japan_then_korea_is_planned_with_prices_days_and_when_to_buy(catalogue: Database
                                                                      ) -> None:
    api = Api(catalogue)
    r = plan(api, legs=JAPAN_KOREA, use="normal", currency="CNY")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["covered"] and body["uncovered"] == [] and body["use_mb_per_day"] == 1000
    assert [leg["name"] for leg in body["legs"]] == ["Japan", "South Korea"]
    items = body["items"]
    days = sorted((d["date"], d["country"]) for x in items for d in x["days"])
    assert len(days) == 8 + 5 and ("2026-12-02", "JP") in days and ("2026-12-02", "KR") in days
    assert body["total"] == sum(x["plan"]["quote"]["total"] for x in items)
    for x in items:
        assert x["start"] <= min(d["date"] for d in x["days"])
        assert x["end"] >= max(d["date"] for d in x["days"])
        assert x["plan"]["data_bytes"] >= 1000 * 1024 * 1024 * len(x["days"])
        # a first-use plan is bought today; one that starts at purchase on its first day
        assert x["buy_on"] == ("2026-11-22" if x["starts_on_first_use"] else x["start"])
    # a week in Japan, a day for the transit day, a week in Korea (the 14-day Asia plan's
    # 10 GB are short of 13 GB); add-ons are no plans of their own
    assert [(x["plan"]["code"], x["start"]) for x in items] == [
        ("JP-7D-10GB", "2026-11-25"), ("JP-1D-1GB", "2026-12-02"), ("KR-7D-10GB", "2026-12-02")]
    assert body["total"] == 69_00 + 15_00 + 69_00
    light = plan(api, legs=JAPAN_KOREA, use="light", currency="CNY").json()
    assert [x["plan"]["code"] for x in light["items"]] == ["ASIA-14D-10GB"]
    assert body["display"] == f"{body['total'] / 100:.2f}"


def test_a_light_traveller_pays_less_than_a_heavy_one(catalogue: Database) -> None:
    api = Api(catalogue)
    totals = {use: plan(api, legs=JAPAN_KOREA, use=use, currency="CNY").json()["total"]
              for use in ("light", "normal", "heavy", "5000")}
    assert totals["light"] <= totals["normal"] <= totals["heavy"] <= totals["5000"]
    assert totals["light"] < totals["heavy"]


def test_a_country_no_plan_covers_is_named(catalogue: Database) -> None:
    api = Api(catalogue)
    r = plan(api, legs="JP:2026-11-25:2026-11-27,MN:2026-11-27:2026-11-30", currency="CNY")
    body = r.json()
    assert r.status_code == 200 and not body["covered"] and body["items"] == []
    assert body["uncovered"] == [{"country": "MN", "name": "Mongolia"}]
    assert body["detail"] == "no plan covers Mongolia (MN) with 1000 MB a day"
    zh = api.client.get("/api/v1/trips/plan", headers={"Accept-Language": "zh-CN"}, params={
        "legs": "MN:2026-11-25:2026-11-26", "currency": "CNY"}).json()
    assert zh["uncovered"] == [{"country": "MN", "name": "蒙古"}]


def test_bad_trips_are_problems_that_say_why(catalogue: Database) -> None:
    api = Api(catalogue)
    cases = {
        "XX:2026-11-25:2026-11-26": "'XX' is not a country code such as JP",
        "JP:2026-11-25": "a leg is COUNTRY:FIRST:LAST, not 'JP:2026-11-25'",
        "JP:2026-11-25:2026-11-20": "the leg in JP ends before it starts",
        "JP:2026-13-01:2026-13-02": "the dates of the leg in JP are not dates such as 2027-05-03",
        "JP:2026-11-01:2026-11-30": "the trip starts on 2026-11-01, before today (2026-11-22)",
        "JP:2026-11-25:2027-03-01": "a trip is at most 60 days; plan a longer one in parts",
        ",".join(["JP:2026-11-25:2026-11-26"] * 7): "a trip has 1 to 6 legs",
    }
    for legs, detail in cases.items():
        r = plan(api, legs=legs, currency="CNY")
        assert r.status_code == 422, (legs, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "invalid_trip" and r.json()["detail"] == detail, r.json()
    r = plan(api, legs=JAPAN_KOREA, use="a lot", currency="CNY")
    assert r.status_code == 422 and r.json()["detail"] == (
        "the daily use is light, normal, heavy or 1 to 50000 MB")
    r = plan(api, legs=JAPAN_KOREA, currency="XYZ")
    assert r.status_code == 422
    assert plan(api, legs=JAPAN_KOREA).status_code == 422  # currency is required
    zh = api.client.get("/api/v1/trips/plan", headers={"Accept-Language": "zh-CN"},
                        params={"legs": "JP", "currency": "CNY"}).json()
    assert zh["title"] == "行程无效"
