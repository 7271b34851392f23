"""A traveller tops up a CNY wallet paying in USD, at the operator's rate fixed on the order."""

from __future__ import annotations

import pytest

from tests.factories import Api, sandbox_shop
from topup.db.uow import Database
from topup.ledger import service as ledger


@pytest.fixture
def shop(catalogue: Database) -> tuple[Api, dict, dict, int]:
    s = sandbox_shop(catalogue, currency="CNY", country="TH")
    return s.api, s.me, s.staff, s.line_id


def test_usd_payment_credits_the_cny_wallet_at_the_fixed_rate(
        shop: tuple[Api, dict, dict, int]) -> None:
    api, me, staff, line_id = shop
    assert api.client.put("/api/v1/admin/fx-rates", headers=staff, json={
        "base": "USD", "quote": "CNY", "rate": "7.1234"}).status_code == 204
    body = {"line_id": line_id, "kind": "topup", "amount": 10_00, "currency": "USD",
            "method": "sandbox", "credit_currency": "CNY"}
    q = api.client.post("/api/v1/orders/quote", headers=me, json=body).json()
    assert (q["credit_currency"], q["credit_amount"], q["fx_rate"]) == ("CNY", 71_23, "7.1234")
    o = api.post("/api/v1/orders", me, key="fx-1", json=body).json()
    assert (o["currency"], o["amount"], o["credit_amount"]) == ("USD", 10_00, 71_23)
    api.client.put("/api/v1/admin/fx-rates", headers=staff, json={
        "base": "USD", "quote": "CNY", "rate": "6.5"})
    ref = o["next_action"]["value"].rsplit("/", 1)[1]
    api.client.post(f"/sandbox/pay/{ref}/approve")
    with api.db.unit() as uow:
        wallets = ledger.wallets(uow, line_id)
    assert set(wallets) == {"CNY"} and wallets["CNY"].posted == 71_23, "the order's rate holds"


def test_conversion_needs_a_rate_and_a_provider(shop: tuple[Api, dict, dict, int]) -> None:
    api, me, staff, line_id = shop
    body = {"line_id": line_id, "kind": "topup", "amount": 10_00, "currency": "SGD",
            "method": "sandbox", "credit_currency": "CNY"}
    r = api.post("/api/v1/orders", me, key="fx-2", json=body)
    assert r.status_code == 422 and r.json()["code"] == "invalid_order"
    r = api.post(f"/api/v1/admin/lines/{line_id}/credit", staff, key="fx-3", json={
        "amount": 10_00, "currency": "USD", "reason": "cash"})
    assert r.status_code == 422 and r.json()["code"] == "currency_not_for_line", \
        "a manual credit in USD would open a USD wallet on a CNY line (no conversion)"
    with api.db.unit() as uow:
        assert set(ledger.wallets(uow, line_id)) <= {"CNY"}
    bad = api.client.put("/api/v1/admin/fx-rates", headers=staff, json={
        "base": "USD", "quote": "USD", "rate": "1"})
    assert bad.status_code == 422
