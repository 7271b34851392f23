"""/api/v1/admin/campaigns: staff define campaigns of every kind, see them, pause and end them,
and make promo codes; bad definitions are refused with the field at fault."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import START
from tests.factories import Api
from topup.audit.tables import audit_log

URL = "/api/v1/admin/campaigns"
WINDOW = {"starts_at": (START - timedelta(hours=1)).isoformat(),
          "ends_at": (START + timedelta(days=2)).isoformat()}
KINDS: dict[str, dict[str, Any]] = {
    "discount": {"percent_bp": 2000, "scope": {"plans": [1, 2], "channels": ["web", "api"]}},
    "spend_save": {"currency": "CNY", "tiers": [[100_00, 10_00], [200_00, 25_00]],
                   "repeat": True, "cap": 50_00, "scope": {"topups": True}},
    "code": {"currency": "CNY", "amount_off": 5_00, "min_spend": 50_00,
             "per_customer_limit": 1},
    "bonus": {"currency": "CNY", "tiers": [[100_00, 10_00]], "scope": {"topups": True},
              "budget": 10_000_00},
    "cashback": {"percent_bp": 300, "cap": 20_00, "currency": "CNY"},
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_staff_define_a_campaign_of_each_kind(api: Api, kind: str) -> None:
    _, admin = api.as_new("admin")
    body = {"kind": kind, "name": f"48-hour {kind}", **WINDOW, **KINDS[kind]}
    made = api.client.post(URL, headers=admin, json=body)
    assert made.status_code == 201, made.text
    out = made.json()
    assert out["kind"] == kind and out["state"] == "active" and out["uses"] == 0
    _, support = api.as_new("support")
    assert api.client.get(f"{URL}/{out['id']}", headers=support).json() == out
    assert [c["id"] for c in api.client.get(URL, headers=support).json()] == [out["id"]]


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "spend_save", "tiers": [[100_00, 10_00]]}, "currency"),
    ({"percent_bp": None, "prices": {}}, "percent_bp"),
    ({"ends_at": (START - timedelta(days=1)).isoformat()}, "ends_at"),
    ({"scope": {"topups": True}}, "scope"),
])
def test_a_bad_campaign_is_a_problem_naming_its_field(api: Api, change: dict[str, Any],
                                                      field: str) -> None:
    _, admin = api.as_new("admin")
    body = {"kind": "discount", "name": "Bad", "percent_bp": 1000, **WINDOW, **change}
    refused = api.client.post(URL, headers=admin, json=body)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "invalid_campaign" and refused.json()["field"] == field
    assert api.client.get(URL, headers=admin).json() == []


def test_a_campaign_is_paused_resumed_and_ended_for_good(api: Api) -> None:
    user, admin = api.as_new("admin")
    cid = api.client.post(URL, headers=admin, json={
        "kind": "discount", "name": "Flash", "percent_bp": 1500, **WINDOW}).json()["id"]
    for state in ("paused", "active", "ended"):
        assert api.client.post(f"{URL}/{cid}/state", headers=admin,
                               json={"state": state}).status_code == 204
    again = api.client.post(f"{URL}/{cid}/state", headers=admin, json={"state": "active"})
    assert again.status_code == 422 and again.json()["code"] == "invalid_campaign"
    assert api.client.get(f"{URL}/{cid}", headers=admin).json()["state"] == "ended"
    with api.db.unit(readonly=True) as uow:
        actions = uow.conn.execute(select(audit_log.c.action).where(
            audit_log.c.actor_id == user.id).order_by(audit_log.c.id)).scalars().all()
    assert actions == ["promotions.create", "promotions.state", "promotions.state",
                       "promotions.state"]


def test_codes_are_made_once_shared_or_single_use(api: Api) -> None:
    _, admin = api.as_new("admin")
    cid = api.client.post(URL, headers=admin, json={
        "kind": "code", "name": "Welcome", "percent_bp": 1000, **WINDOW}).json()["id"]
    shared = api.client.post(f"{URL}/{cid}/codes", headers=admin,
                             json={"code": "welcome-26", "max_uses": 500})
    assert shared.status_code == 201 and shared.json() == {"codes": ["WELCOME26"]}
    batch = api.client.post(f"{URL}/{cid}/codes", headers=admin,
                            json={"count": 20, "prefix": "kiosk"}).json()["codes"]
    assert len(set(batch)) == 20 and all(c.startswith("KIOSK") for c in batch)
    both = api.client.post(f"{URL}/{cid}/codes", headers=admin,
                           json={"code": "ABCD1234", "count": 3})
    assert both.status_code == 422
    twice = api.client.post(f"{URL}/{cid}/codes", headers=admin, json={"code": "Welcome 26"})
    assert twice.status_code == 422 and twice.json()["field"] == "code"
    other = api.client.post(URL, headers=admin, json={
        "kind": "discount", "name": "No codes", "percent_bp": 500, **WINDOW}).json()["id"]
    assert api.client.post(f"{URL}/{other}/codes", headers=admin,
                           json={"count": 1}).status_code == 422
    assert api.client.get(f"{URL}/99999", headers=admin).status_code == 404
