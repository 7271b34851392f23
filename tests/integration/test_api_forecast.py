"""GET /lines/{id}/forecast: the owner's line, its pace and the plan it suggests."""

from __future__ import annotations

from tests.factories import Api, make_user
from tests.integration.forecast_world import GB, buy, traveller, use_daily
from topup.clock import FrozenClock
from topup.db.uow import Database


def test_the_forecast_of_a_gb_a_day_suggests_the_cheapest_plan_covering_the_rest(
        api: Api, catalogue: Database, clock: FrozenClock) -> None:
    me = make_user(catalogue)
    line = traveller(catalogue, clock, customer_id=me.id)
    headers = api.login(str(me.email))  # tokens live shorter than the story
    r = api.client.get(f"/api/v1/lines/{line.id}/forecast", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "runs_out_first"
    assert (body["remaining_bytes"], body["pace_bytes_per_day"]) == (10 * GB, GB)
    assert (body["days_left"], body["plan_days"], body["history_days"]) == (10, 20, 7)
    assert body["shortfall_bytes"] == 10 * GB and body["country"] == "TH"
    # 10 GB more: TH-7D-10GB at 49 CNY beats every other plan and 5120 CNY out of bundle
    assert body["suggestion"] == {
        "kind": "plan", "amount": 49_00, "currency": "CNY", "plan_id": body["suggestion"][
            "plan_id"], "plan_code": "TH-7D-10GB", "plan_name": "Thailand 7 days 10 GB",
        "data_bytes": 10 * GB}
    zh = api.client.get(f"/api/v1/lines/{line.id}/forecast",
                        headers=headers | {"Accept-Language": "zh-CN"}).json()
    assert zh["suggestion"]["plan_name"] == "泰国 7天 10GB"


def test_another_travellers_line_is_not_found(api: Api, catalogue: Database,
                                              clock: FrozenClock) -> None:
    me = make_user(catalogue)
    line = traveller(catalogue, clock, customer_id=me.id, days=2)
    _, other = api.as_new()
    r = api.client.get(f"/api/v1/lines/{line.id}/forecast", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "line_not_found"
    assert api.client.get(f"/api/v1/lines/{line.id}/forecast").status_code == 401


def test_a_new_plan_has_too_little_history_and_a_quiet_one_outlasts_its_plan(
        api: Api, catalogue: Database, clock: FrozenClock) -> None:
    me = make_user(catalogue)
    line = traveller(catalogue, clock, customer_id=me.id, days=1)
    headers = api.login(str(me.email))
    body = api.client.get(f"/api/v1/lines/{line.id}/forecast", headers=headers).json()
    assert body["state"] == "too_little_history" and body["days_left"] is None
    assert body["plan_days"] == 29 and body["suggestion"] is None
    clock.advance(days=3)  # three days without use
    headers = api.login(str(me.email))
    body = api.client.get(f"/api/v1/lines/{line.id}/forecast", headers=headers).json()
    assert body["state"] == "outlasts_plan" and body["pace_bytes_per_day"] > 0
    assert body["shortfall_bytes"] == 0 and body["suggestion"] is None


def test_a_line_without_plan_has_nothing_to_forecast(api: Api, catalogue: Database,
                                                     clock: FrozenClock) -> None:
    me = make_user(catalogue)
    line = traveller(catalogue, clock, customer_id=me.id, days=0)
    clock.advance(days=31)  # the plan has ended
    headers = api.login(str(me.email))
    body = api.client.get(f"/api/v1/lines/{line.id}/forecast", headers=headers).json()
    assert body["state"] == "no_plan" and body["remaining_bytes"] == 0
    buy(catalogue, line, "TH-1D-1GB")
    use_daily(catalogue, clock, line, 0)
    assert api.client.get(f"/api/v1/lines/{line.id}/forecast",
                          headers=headers).json()["state"] == "too_little_history"
