"""The daily float statement: opening + money in - money out = closing, where opening and
closing are the float's balances at the day's edges (taken here from the ledger as the day
ends, independently of the statement)."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import make_line
from tests.integration.agents.conftest import TIER_BP, Counter
from topup.clock import FrozenClock
from topup.subscribers.lines import Line


def statement(counter: Counter, agent_id: int, day: str | None = None) -> dict:
    params = {"date": day} if day else {}
    r = counter.api.client.get(f"/api/v1/admin/agents/{agent_id}/statement",
                               headers=counter.staff, params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_two_days_of_trading_reconcile(counter: Counter, line: Line, clock: FrozenClock
                                       ) -> None:
    shop = counter.agent()
    second = make_line(counter.db, msisdn="+85261234568", country="HK")
    day1 = clock().date()
    counter.fund(shop, 300_00)
    counter.topup(shop, line.msisdn or "", 100_00)
    clock.advance(hours=3)
    counter.topup(shop, second.msisdn or "", 40_00)
    counter.topup(shop, line.msisdn or "", 500_00)  # refused: nothing moves
    counter.fund(shop, 50_00)
    clock.advance(hours=14)  # 2026-11-23 01:00 UTC
    end_of_day1 = counter.float_of(shop)
    counter.topup(shop, line.msisdn or "", 60_00)
    counter.fund(shop, 10_00)
    end_of_day2 = counter.float_of(shop)

    s1 = statement(counter, shop, day1.isoformat())
    c1 = 100_00 * TIER_BP // 10000 + 40_00 * TIER_BP // 10000
    assert (s1["opening"], s1["funded"], s1["fundings"]) == (0, 350_00, 2)
    assert (s1["topups"], s1["topup_count"], s1["commission"]) == (140_00, 2, c1)
    assert (s1["other_in"], s1["other_out"], s1["vouchers"]) == (0, 0, 0)
    assert s1["closing"] == end_of_day1 == 350_00 - 140_00 + c1
    assert s1["opening"] + s1["money_in"] - s1["money_out"] == s1["closing"]
    assert s1["reconciles"] is True

    s2 = statement(counter, shop)  # today
    assert s2["date"] == (day1 + timedelta(days=1)).isoformat()
    assert s2["opening"] == s1["closing"] and s2["closing"] == end_of_day2
    assert (s2["topups"], s2["funded"]) == (60_00, 10_00)
    assert s2["opening"] + s2["money_in"] - s2["money_out"] == s2["closing"]

    s0 = statement(counter, shop, (day1 - timedelta(days=1)).isoformat())
    assert s0["opening"] == s0["closing"] == 0 and s0["reconciles"]


def test_staff_read_their_statement_and_sales(counter: Counter, line: Line) -> None:
    shop = counter.agent()
    counter.fund(shop, 100_00)
    counter.topup(shop, line.msisdn or "", 30_00)
    pos = counter.logins[shop]
    st = counter.api.client.get("/api/v1/pos/statement", headers=pos).json()
    assert (st["agent_id"], st["topups"], st["reconciles"]) == (shop, 30_00, True)
    sales = counter.api.client.get("/api/v1/pos/sales", headers=pos).json()
    assert [(s["kind"], s["amount"]["amount"], s["line_id"]) for s in sales] == [
        ("topup", 30_00, line.id)]
    bad = counter.api.client.get("/api/v1/pos/statement", headers=pos,
                                 params={"date": "yesterday"})
    assert bad.status_code == 422
