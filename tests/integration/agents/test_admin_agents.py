"""Operator administration of agents: tiers, agents and chains, float funding (idempotent per
payment reference, audited), and who may do it."""

from __future__ import annotations

import uuid

from tests.integration.agents.conftest import Counter
from topup.ledger import service as ledger


def test_tiers_and_agents_are_validated(counter: Counter) -> None:
    c = counter.api.client
    h = counter.staff
    r = c.put("/api/v1/admin/agent-tiers/gold", headers=h,
              json={"name": "Gold", "topup_bp": 10001, "voucher_bp": 0})
    assert r.status_code == 422
    r = c.put("/api/v1/admin/agent-tiers/Gold", headers=h,
              json={"name": "Gold", "topup_bp": 250, "voucher_bp": 400})
    assert r.json() == {"code": "gold", "name": "Gold", "topup_bp": 250, "voucher_bp": 400}
    assert [t["code"] for t in c.get("/api/v1/admin/agent-tiers", headers=h).json()] == [
        "gold", "std"]
    base = {"name": "X", "tier": "gold", "country": "HK", "currency": "CNY"}
    chain = c.post("/api/v1/admin/agents", headers=h, json=base | {"kind": "chain"}).json()
    dealer = c.post("/api/v1/admin/agents", headers=h, json=base | {"kind": "dealer"}).json()
    refusals = [
        (base | {"kind": "store", "tier": "platinum"}, "tier_not_found"),
        (base | {"kind": "store", "currency": "XXQ"}, "invalid_input"),
        (base | {"kind": "store", "country": "Hong Kong"}, "invalid_agent"),
        (base | {"kind": "store", "parent_id": dealer["id"]}, "invalid_agent"),
        (base | {"kind": "chain", "parent_id": chain["id"]}, "invalid_agent"),
        (base | {"kind": "store", "parent_id": 9999}, "agent_not_found"),
    ]
    for body, code in refusals:
        r = c.post("/api/v1/admin/agents", headers=h, json=body)
        assert r.json()["code"] == code, body
    store = c.post("/api/v1/admin/agents", headers=h,
                   json=base | {"kind": "store", "parent_id": chain["id"]})
    assert store.status_code == 201
    members = c.get(f"/api/v1/admin/agents/{chain['id']}", headers=h).json()["members"]
    assert members == [store.json()["id"]]
    listed = c.get("/api/v1/admin/agents", headers=h, params={"parent_id": chain["id"]})
    assert [a["id"] for a in listed.json()] == members


def test_funding_is_once_per_reference_and_audited(counter: Counter) -> None:
    shop = counter.agent()
    first = counter.fund(shop, 1000_00, reference="BANK-20261122-0042")
    assert first.status_code == 201 and first.json()["replayed"] is False
    again = counter.fund(shop, 1000_00, reference="BANK-20261122-0042")  # new Idempotency-Key
    assert again.status_code == 201 and again.json()["replayed"] is True
    assert again.json()["transfer_id"] == first.json()["transfer_id"]
    assert counter.float_of(shop) == 1000_00
    other = counter.fund(shop, 999_00, reference="BANK-20261122-0042")
    assert other.status_code == 409 and other.json()["code"] == "float_funding_conflict"
    audit = counter.api.client.get("/api/v1/admin/audit", headers=counter.staff,
                                   params={"target": f"agent:{shop}"}).json()
    funds = [e for e in audit if e["action"] == "agent.float_fund"]
    assert len(funds) == 1 and funds[0]["reason"] == "paid by bank transfer"
    with counter.db.unit(readonly=True) as uow:
        src = ledger.open_account(uow, "op:agent_float_sales:money:CNY", "money:CNY",
                                  "agent_float_sales")
        assert ledger.balance(uow, src).posted == -1000_00
    r = counter.api.post(f"/api/v1/admin/agents/{shop}/float", counter.staff,
                         json={"amount": 100, "reference": "r", "reason": "why not"})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    r = counter.api.post(f"/api/v1/admin/agents/{shop}/float", counter.staff, key="neg",
                         json={"amount": -5, "reference": "r", "reason": "why not"})
    assert r.status_code == 422


def test_only_admins_run_agents(counter: Counter) -> None:
    shop = counter.agent()
    pos = counter.logins[shop]
    c = counter.api.client
    assert c.get("/api/v1/admin/agents", headers=pos).status_code == 403
    r = c.post(f"/api/v1/admin/agents/{shop}/float", headers=pos | {
        "Idempotency-Key": uuid.uuid4().hex}, json={"amount": 100, "reference": "self-help",
                                                     "reason": "free money"})
    assert r.status_code == 403 and counter.float_of(shop) == 0
    assert c.post(f"/api/v1/admin/agents/{shop}/terminals", headers=pos,
                  json={"label": "mine"}).status_code == 403
    assert c.get("/api/v1/admin/agents").status_code == 401


def test_problem_titles_in_chinese(counter: Counter) -> None:
    shop = counter.agent()
    r = counter.api.client.post("/api/v1/pos/topups", headers=counter.logins[shop] | {
        "Idempotency-Key": "zh", "Accept-Language": "zh-CN"},
        json={"line": "+85261234567", "amount": 100})
    assert r.json()["code"] == "line_not_found"
    r = counter.api.client.get("/api/v1/pos/statement", headers=counter.logins[shop] | {
        "Accept-Language": "zh-CN"}, params={"agent_id": 999})
    assert r.json()["title"] == "未找到该代理商"
