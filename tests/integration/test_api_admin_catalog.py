"""Operators manage the catalogue over the admin API; travellers see the result."""

from __future__ import annotations

from tests.factories import Api, make_user
from topup.db.uow import Database


def test_plan_limits_presets_and_rates_by_admin(api: Api, catalogue: Database) -> None:
    staff = api.login(str(make_user(catalogue, "admin").email))
    plan = {"code": "TH-3D-5GB", "name_en": "Thailand 3 days 5 GB", "name_zh": "泰国 3天 5GB",
            "zone_code": "TH", "kind": "day", "data_bytes": 5 * 1024**3, "validity_days": 3,
            "prices": {"CNY": 2990, "THB": 14900}}
    r = api.client.put("/api/v1/admin/plans", headers=staff, json=plan)
    assert r.status_code == 200, r.text
    zh = api.client.get("/api/v1/plans", params={"country": "TH", "q": "3 days"},
                        headers={"Accept-Language": "zh-CN"}).json()
    assert [(p["code"], p["name"]) for p in zh] == [("TH-3D-5GB", "泰国 3天 5GB")]
    r = api.client.put("/api/v1/admin/plans", headers=staff,
                       json=plan | {"prices": {"XYZ": 1}})
    assert r.status_code == 422
    assert api.client.put("/api/v1/admin/topup-limits", headers=staff, json={
        "zone_code": "TH", "currency": "CNY", "min_amount": 2000, "max_amount": 30000,
    }).status_code == 204
    assert api.client.put("/api/v1/admin/presets/CNY", headers=staff,
                          json={"amounts": [3000, 5000]}).status_code == 204
    opts = api.client.get("/api/v1/topup-options",
                          params={"currency": "CNY", "country": "TH"}).json()
    assert [p["amount"] for p in opts["presets"]] == [3000, 5000]
    assert (opts["min"], opts["max"]) == (2000, 30000)
    assert api.client.put("/api/v1/admin/oob-rates", headers=staff, json={
        "zone_code": "TH", "currency": "CNY", "unit": "data", "rate": 10,
        "per_quantity": 1048576}).status_code == 204
    actions = [e["action"] for e in api.client.get("/api/v1/admin/audit", headers=staff).json()]
    assert actions[:4] == ["catalog.rate", "catalog.presets", "catalog.limit", "plan.upsert"]
    _, me = api.as_new()
    assert api.client.put("/api/v1/admin/presets/CNY", headers=me,
                          json={"amounts": [1]}).status_code == 403


def test_profile_language_and_currency(api: Api) -> None:
    _, me = api.as_new()
    r = api.client.patch("/api/v1/auth/me", headers=me,
                         json={"language": "zh-CN", "currency": "hkd"})
    assert r.status_code == 200 and (r.json()["language"], r.json()["currency"]) == ("zh-CN", "HKD")
    assert api.client.patch("/api/v1/auth/me", headers=me,
                            json={"currency": "ZZZ"}).status_code == 422
