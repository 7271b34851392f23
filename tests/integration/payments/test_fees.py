"""Fees per channel and method: quoted before confirmation, paid on top, booked as revenue,
part of the order's immutable terms."""

from __future__ import annotations

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from tests.factories import Api, sandbox_shop
from topup.catalog import service as catalog
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.money import Money


@pytest.fixture
def shop(catalogue: Database) -> tuple[Api, dict, dict, int]:
    s = sandbox_shop(catalogue)
    return s.api, s.me, s.staff, s.line_id


def test_most_specific_rule_wins_and_rounds_up(db: Database) -> None:
    with db.unit() as uow:
        catalog.set_fee_rule(uow, "*", "*", "CNY", 100, 0)
        catalog.set_fee_rule(uow, "ivr", "*", "CNY", 200, 0)
        catalog.set_fee_rule(uow, "*", "stripe", "CNY", 0, 290)
        catalog.set_fee_rule(uow, "ivr", "stripe", "CNY", 50, 100)
        hundred = Money(100_01, "CNY")
        assert catalog.fee_for(uow, "api", "alipay", hundred) == 100
        assert catalog.fee_for(uow, "ivr", "alipay", hundred) == 200
        assert catalog.fee_for(uow, "api", "stripe", hundred) == 291  # 2.9 % of 100.01, up
        assert catalog.fee_for(uow, "ivr", "stripe", hundred) == 50 + 101
        assert catalog.fee_for(uow, "api", "alipay", Money(100, "USD")) == 0


def test_fee_is_quoted_charged_on_top_and_booked(shop: tuple[Api, dict, dict, int]) -> None:
    api, me, staff, line_id = shop
    r = api.client.put("/api/v1/admin/fees", headers=staff, json={
        "channel": "api", "method": "sandbox", "currency": "CNY", "fixed": 100, "rate_bp": 200})
    assert r.status_code == 204
    body = {"line_id": line_id, "kind": "topup", "amount": 100_00, "method": "sandbox"}
    q = api.client.post("/api/v1/orders/quote", headers=me, json=body).json()
    assert (q["amount"], q["fee"], q["total"]) == (100_00, 3_00, 103_00)
    assert q["display"] == {"amount": "100.00", "fee": "3.00", "total": "103.00"}
    o = api.post("/api/v1/orders", me, key="fee-1", json=body).json()
    assert (o["fee"], o["total"]) == (3_00, 103_00)
    page = api.client.get(o["next_action"]["value"].replace("http://testserver", ""))
    assert "103.00 CNY" in page.text, "the payer sees the total"
    ref = o["next_action"]["value"].rsplit("/", 1)[1]
    api.client.post(f"/sandbox/pay/{ref}/approve")
    with api.db.unit() as uow:
        assert ledger.wallets(uow, line_id)["CNY"].posted == 100_00
        fee_acct = ledger.operator_account(uow, "fee_revenue", "money:CNY", line_id=line_id)
        assert ledger.balance(uow, fee_acct).posted == 3_00
    with pytest.raises(sqlalchemy.exc.DBAPIError), api.db.unit() as uow:
        uow.conn.execute(text("UPDATE orders SET fee = 0 WHERE id = :i"), {"i": o["id"]})


def test_wallet_fee_on_a_plan_purchase(shop: tuple[Api, dict, dict, int]) -> None:
    api, me, staff, line_id = shop
    with api.db.unit() as uow:
        catalog.set_fee_rule(uow, "*", "wallet", "CNY", 50, 0)
        plan = catalog.get_plan_by_code(uow, "TH-1D-1GB")
    api.post(f"/api/v1/admin/lines/{line_id}/credit", staff, key="c", json={
        "amount": 20_00, "reason": "cash"})
    o = api.post("/api/v1/orders", me, key="w", json={
        "line_id": line_id, "kind": "plan", "plan_id": plan.id, "method": "wallet"}).json()
    assert o["state"] == "fulfilled" and o["fee"] == 50
    with api.db.unit() as uow:
        assert ledger.wallets(uow, line_id)["CNY"].posted == 20_00 - plan.prices["CNY"] - 50
