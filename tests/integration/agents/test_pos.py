"""The agent's point of sale over the API: a top-up paid from the float lands in the wallet
with the tier's commission credited to the float; the float never goes below zero, not even
when requests race; a retried request debits once; staff act only for their own agent."""

from __future__ import annotations

import threading
import uuid

from tests.factories import make_line
from tests.integration.agents.conftest import TIER_BP, Counter
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers.lines import Line


def orders_of(db: Database, line_id: int) -> int:
    from topup.orders.service import line_orders

    with db.unit(readonly=True) as uow:
        return len(line_orders(uow, line_id, limit=100))


def test_topup_from_the_float_with_commission_in_the_ledger(counter: Counter, line: Line
                                                            ) -> None:
    shop = counter.agent()
    assert counter.fund(shop, 500_00).status_code == 201
    r = counter.topup(shop, "+852 6123 4567", 100_00)
    assert r.status_code == 201, r.text
    sale = r.json()
    earned = 100_00 * TIER_BP // 10000  # 1.5 % = 1.50 CNY
    assert sale["order_state"] == "fulfilled" and sale["line_id"] == line.id
    assert sale["amount"]["amount"] == 100_00 and sale["commission"]["amount"] == earned
    assert sale["float_balance"]["amount"] == 500_00 - 100_00 + earned
    assert counter.wallet(line.id) == 100_00
    assert counter.float_of(shop) == 500_00 - 100_00 + earned
    with counter.db.unit(readonly=True) as uow:
        paid = ledger.find_transfer(uow, f"order:{sale['order_id']}:commission")
        float_acct = ledger.open_account(uow, f"agent:{shop}:float:money:CNY", "money:CNY",
                                         "agent_float")
        expense = ledger.balance(uow, paid.debit_account_id) if paid else None
        order = counter.api.client.get(f"/api/v1/orders/{sale['order_id']}",
                                       headers=counter.staff).json()
    assert paid is not None and paid.amount == earned and paid.code == "agent_commission"
    assert paid.credit_account_id == float_acct and expense is not None
    assert expense.posted == -earned  # the operator's commission expense
    assert (order["method"], order["channel"]) == ("agent", "pos")


def test_commission_rounds_down_to_a_whole_minor_unit(counter: Counter, line: Line) -> None:
    shop = counter.agent()
    counter.fund(shop, 500_00)
    sale = counter.topup(shop, line.iccid, 33_33).json()  # by ICCID this time
    assert sale["commission"]["amount"] == 33_33 * TIER_BP // 10000 == 49  # 49.995 -> 49


def test_a_topup_beyond_the_float_is_refused_and_moves_nothing(counter: Counter, line: Line
                                                               ) -> None:
    shop = counter.agent()
    counter.fund(shop, 50_00)
    before = counter.transfers()
    r = counter.topup(shop, line.msisdn or "", 50_01)
    assert r.status_code == 422 and r.json()["code"] == "float_insufficient"
    assert r.json()["available"] == 50_00 and r.json()["needed"] == 50_01
    assert counter.transfers() == before and counter.float_of(shop) == 50_00
    assert counter.wallet(line.id) == 0 and orders_of(counter.db, line.id) == 0
    empty = counter.agent("Empty Shop")
    r = counter.topup(empty, line.msisdn or "", 1)
    assert r.status_code == 422 and r.json()["code"] == "float_insufficient"


def test_a_retried_request_debits_once(counter: Counter, line: Line) -> None:
    shop = counter.agent()
    counter.fund(shop, 300_00)
    first = counter.topup(shop, line.msisdn or "", 100_00, key="till-1-sale-77")
    again = counter.topup(shop, line.msisdn or "", 100_00, key="till-1-sale-77")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert counter.wallet(line.id) == 100_00
    other = counter.topup(shop, line.msisdn or "", 200_00, key="till-1-sale-77")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    results: list[int] = []

    def retry() -> None:
        results.append(counter.topup(shop, line.msisdn or "", 50_00, key="racing").status_code)

    threads = [threading.Thread(target=retry) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [201] * 6
    assert counter.wallet(line.id) == 150_00
    assert counter.float_of(shop) == 300_00 - 150_00 + 150_00 * TIER_BP // 10000


def test_racing_topups_never_overdraw_a_small_float(counter: Counter) -> None:
    shop = counter.agent()
    counter.fund(shop, 100_00)
    lines = [make_line(counter.db, msisdn=f"+8526123450{n}", country="HK") for n in range(8)]
    codes: list[int] = []
    start = threading.Barrier(len(lines))

    def sell(target: Line) -> None:
        start.wait()
        codes.append(counter.topup(shop, target.msisdn or "", 30_00).status_code)

    threads = [threading.Thread(target=sell, args=(x,)) for x in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    earned = 30_00 * TIER_BP // 10000
    assert sorted(codes) == [201] * 3 + [422] * 5  # commission (3 x 0.45) never buys a 4th
    assert counter.float_of(shop) == 100_00 - 3 * (30_00 - earned) >= 0
    assert sum(counter.wallet(x.id) for x in lines) == 90_00


def test_staff_act_only_for_their_own_agent(counter: Counter, line: Line) -> None:
    chain = counter.agent("Seven Stars", kind="chain")
    store_a = counter.agent("Seven Stars Mong Kok", parent_id=chain)
    store_b = counter.agent("Other Brand")
    counter.fund(store_a, 100_00)
    counter.fund(store_b, 100_00)
    r = counter.topup(store_b, line.msisdn or "", 20_00)
    assert r.status_code == 201 and r.json()["agent_id"] == store_b
    assert counter.float_of(store_a) == 100_00, "only the caller's own float pays"
    pos_a = counter.logins[store_a]
    r = counter.api.client.get("/api/v1/pos/statement", headers=pos_a,
                               params={"agent_id": store_b})
    assert r.status_code == 404 and r.json()["code"] == "agent_not_found"
    chain_view = counter.api.client.get("/api/v1/pos/statement", headers=counter.logins[chain],
                                        params={"agent_id": store_a})
    assert chain_view.status_code == 200 and chain_view.json()["agent_id"] == store_a
    up = counter.api.client.get("/api/v1/pos/statement", headers=pos_a,
                                params={"agent_id": chain})
    assert up.status_code == 404, "a store does not see its chain"
    customer = counter.api.as_new()[1]
    r = counter.api.post("/api/v1/pos/topups", customer, key="k",
                         json={"line": line.msisdn, "amount": 100})
    assert r.status_code == 403
    r = counter.api.post("/api/v1/pos/topups", counter.staff, key="k",
                         json={"line": line.msisdn, "amount": 100})
    assert r.status_code == 403, "an admin is not a point of sale"


def test_unlinked_staff_and_suspended_agents_cannot_sell(counter: Counter, line: Line) -> None:
    chain = counter.agent("Seven Stars", kind="chain")
    store = counter.agent("Seven Stars Central", parent_id=chain)
    counter.fund(store, 100_00)
    r = counter.api.client.post(f"/api/v1/admin/agents/{chain}/suspend", headers=counter.staff,
                                json={"reason": "unpaid invoice"})
    assert r.status_code == 200 and r.json()["state"] == "suspended"
    r = counter.topup(store, line.msisdn or "", 10_00)
    assert r.status_code == 409 and r.json()["code"] == "agent_suspended"
    counter.api.client.post(f"/api/v1/admin/agents/{chain}/activate", headers=counter.staff,
                            json={"reason": "invoice paid"})
    assert counter.topup(store, line.msisdn or "", 10_00).status_code == 201
    detail = counter.api.client.get(f"/api/v1/admin/agents/{store}", headers=counter.staff)
    (staff_id,) = detail.json()["staff_user_ids"]
    r = counter.api.client.delete(f"/api/v1/admin/agents/{store}/staff/{staff_id}",
                                  headers=counter.staff)
    assert r.status_code == 204
    r = counter.topup(store, line.msisdn or "", 10_00)
    assert r.status_code == 403 and r.json()["code"] == "not_agent_staff"


def test_line_checks_and_refusals(counter: Counter, line: Line) -> None:
    shop = counter.agent()
    counter.fund(shop, 100_00)
    pos = counter.logins[shop]
    found = counter.api.client.get("/api/v1/pos/lines/+85261234567", headers=pos).json()
    assert found == {"line_id": line.id, "msisdn": "85261234567", "status": "provisioned",
                     "currency": "CNY", "home_country": "HK", "kyc_required": None}
    r = counter.topup(shop, "+85261239999", 10_00)
    assert r.status_code == 404 and r.json()["code"] == "line_not_found"
    r = counter.topup(shop, "12", 10_00)
    assert r.status_code == 422 and r.json()["code"] == "invalid_msisdn"
    r = counter.api.post("/api/v1/pos/topups", pos, json={"line": line.msisdn, "amount": 100})
    assert r.status_code == 400 and r.json()["code"] == "idempotency_key_required"
    with counter.db.unit() as uow:
        from topup.subscribers.lines import freeze

        freeze(uow, line.id, actor=None, reason="fraud check")
    r = counter.topup(shop, line.msisdn or "", 10_00)
    assert r.status_code == 409 and r.json()["code"] == "line_not_usable"
    assert counter.float_of(shop) == 100_00
    me = counter.api.client.get("/api/v1/pos/me", headers=pos).json()
    assert me["id"] == shop and me["float_balance"]["amount"] == 100_00


def test_line_in_another_currency_receives_the_converted_value(counter: Counter) -> None:
    from topup.catalog.fx import set_fx_rate

    with counter.db.unit() as uow:
        set_fx_rate(uow, "CNY", "THB", "4.9")
    thai = make_line(counter.db, msisdn="+66812345678", country="TH", currency="THB")
    shop = counter.agent()
    counter.fund(shop, 200_00)
    r = counter.topup(shop, "+66812345678", 100_00, key=uuid.uuid4().hex)
    assert r.status_code == 201, r.text
    assert r.json()["credited"] == {"amount": 490_00, "currency": "THB", "display": "490.00"}
    assert counter.wallet(thai.id, "THB") == 490_00
    st = counter.api.client.get("/api/v1/pos/statement", headers=counter.logins[shop]).json()
    assert (st["topups"], st["topup_count"], st["reconciles"]) == (100_00, 1, True)
