"""Auto-renew: an ending plan is bought again from the wallet; without money (and no saved
card) the attempt fails, is told and retried, then given up; two workers renew once."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest

from tests.factories import make_line
from topup.catalog import service as catalog
from topup.charging.buckets import line_buckets
from topup.charging.service import record_usage
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications.service import queued_for
from topup.orders import renewals
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import lines

NO_CARDS = renewals.Payers({}, {})
MSISDN = "66812345678"
GB = 1024**3


class Line:
    def __init__(self, db: Database, msisdn: str = MSISDN) -> None:
        self.db = db
        self.line = make_line(db, country="TH", msisdn=msisdn)
        self.n = 0
        with db.unit() as uow:
            lines.set_auto_renew(uow, self.line.id, True)

    def credit(self, amount: int) -> None:
        self.n += 1
        with self.db.unit() as uow:
            create_order(uow, None, lines.get_line(uow, self.line.id), OrderRequest(
                kind="topup", method="manual", channel="api", amount=amount,
                reason=f"test {self.n}", confirm_duplicate=True))

    def buy(self, code: str = "TH-7D-10GB") -> Any:
        with self.db.unit() as uow:
            plan = catalog.get_plan_by_code(uow, code)
            return create_order(uow, None, lines.get_line(uow, self.line.id), OrderRequest(
                kind="plan", method="wallet", channel="api", plan_id=plan.id,
                confirm_duplicate=True))

    def buckets(self) -> list[Any]:
        with self.db.unit() as uow:
            return line_buckets(uow, self.line.id)

    def sms(self) -> list[str]:
        """Renewal notices sent to the line (order confirmations left aside)."""
        with self.db.unit() as uow:
            return [m["template"] for m in queued_for(uow, f"+{MSISDN}")
                    if m["template"] != "order_fulfilled"]


def sweep(db: Database) -> list[renewals.Outcome]:
    renewals.take_up(db)
    return [renewals.renew(db, b, NO_CARDS) for b in renewals.due(db)]


@pytest.fixture
def line(catalogue: Database) -> Line:
    return Line(catalogue)


def test_an_ending_plan_is_bought_again_from_the_wallet(
        line: Line, clock: FrozenClock, catalogue: Database) -> None:
    line.credit(98_00)
    line.buy()
    assert sweep(catalogue) == [], "not ending yet"
    clock.advance(days=7, minutes=-30)
    [done] = sweep(catalogue)
    assert done.state == "renewed" and done.order_id is not None
    assert sweep(catalogue) == [], "once"
    ends = sorted(b.expires_at for b in line.buckets())
    assert len(ends) == 2 and (ends[1] - ends[0]).days == 7, "stacked without a gap"


def test_no_money_and_no_card_fails_is_told_retried_then_given_up(
        line: Line, clock: FrozenClock, catalogue: Database) -> None:
    line.credit(49_00)
    line.buy()
    clock.advance(days=7, minutes=-30)
    [first] = sweep(catalogue)
    assert first.state == "retry" and "no card is saved" in (first.error or "")
    assert line.sms() == ["renewal_failed"]
    assert sweep(catalogue) == [], "waits for the next attempt"
    states = []
    for minutes in catalogue.settings.renewal_retry_minutes:
        clock.advance(minutes=minutes)
        states += [o.state for o in sweep(catalogue)]
    assert states == ["retry", "retry", "given_up"]
    assert line.sms()[-1] == "renewal_given_up" and len(line.sms()) == 4
    clock.advance(days=1)
    assert sweep(catalogue) == []


def test_money_arriving_before_the_retry_renews(
        line: Line, clock: FrozenClock, catalogue: Database) -> None:
    line.credit(49_00)
    line.buy()
    clock.advance(days=7, minutes=-30)
    assert sweep(catalogue)[0].state == "retry"
    line.credit(49_00)
    clock.advance(minutes=60)
    [again] = sweep(catalogue)
    assert again.state == "renewed"


def test_switched_off_gives_up_quietly(line: Line, clock: FrozenClock,
                                       catalogue: Database) -> None:
    line.credit(98_00)
    line.buy()
    clock.advance(days=7, minutes=-30)
    renewals.take_up(catalogue)
    with catalogue.unit() as uow:
        lines.set_auto_renew(uow, line.line.id, False)
    [out] = [renewals.renew(catalogue, b, NO_CARDS) for b in renewals.due(catalogue)]
    assert out.state == "given_up" and line.sms() == []
    assert len(line.buckets()) == 1


def test_at_most_n_renewals_a_day(line: Line, clock: FrozenClock, catalogue: Database) -> None:
    catalogue.settings = dataclasses.replace(catalogue.settings, max_renewals_per_day=1)
    line.credit(200_00)
    line.buy("TH-1D-1GB")
    clock.advance(hours=23, minutes=30)
    assert [o.state for o in sweep(catalogue)] == ["renewed"]
    clock.advance(hours=23, minutes=59)  # the second renewal is due within 24 h of the first
    [capped] = sweep(catalogue)
    assert capped.state == "retry" and "1 renewals a day" in (capped.error or "")
    assert line.sms() == [], "a cap is not a failure to tell"
    clock.advance(minutes=60)
    assert [o.state for o in sweep(catalogue)] == ["renewed"]


def test_two_workers_renew_a_bucket_once(line: Line, clock: FrozenClock,
                                         catalogue: Database) -> None:
    line.credit(49_00 * 3)
    line.buy()
    clock.advance(days=7, minutes=-30)
    renewals.take_up(catalogue)
    [bucket] = renewals.due(catalogue)
    results: list[str] = []
    gate = threading.Barrier(4)

    def work() -> None:
        gate.wait()
        results.append(renewals.renew(catalogue, bucket, NO_CARDS).state)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["renewed", "skipped", "skipped", "skipped"]
    assert len(line.buckets()) == 2


def test_a_data_out_plan_is_renewed_when_its_data_is_used_up(
        line: Line, clock: FrozenClock, catalogue: Database) -> None:
    with catalogue.unit() as uow:
        spec = catalog.PlanSpec(code="TH-7D-1GB-TOPUP", name_en="Thailand 1 GB, renewed when "
                                "used up", name_zh="泰国 1GB 用完自动续订", zone_code="TH",
                                kind="week", data_bytes=GB, validity_days=7,
                                renew_on="data_out", prices={"CNY": 10_00})
        catalog.upsert_plan(uow, spec)
    line.credit(30_00)
    line.buy("TH-7D-1GB-TOPUP")
    clock.advance(days=1)
    assert sweep(catalogue) == [], "data left"
    with catalogue.unit() as uow:
        record_usage(uow, "all", lines.get_line(uow, line.line.id), "data", GB, "TH", clock.now)
    [done] = sweep(catalogue)
    assert done.state == "renewed"
    fresh = [b for b in line.buckets() if b.units["data"]["remaining"] == GB]
    assert len(fresh) == 1 and fresh[0].valid_from == clock.now, "starts at once, not in 6 days"


def test_a_plan_bought_again_after_its_data_ran_out_starts_at_once(
        line: Line, clock: FrozenClock, catalogue: Database) -> None:
    line.credit(98_00)
    line.buy()
    with catalogue.unit() as uow:
        record_usage(uow, "all", lines.get_line(uow, line.line.id), "data", 10 * GB, "TH",
                     clock.now)
    clock.advance(hours=2)
    line.buy()
    starts = sorted(b.valid_from for b in line.buckets())
    assert starts[1] == clock.now, "no waiting for the used-up bucket to end"


def test_the_failure_is_told_with_a_reason_the_reader_can_read(
        line: Line, clock: FrozenClock, catalogue: Database) -> None:
    from topup.notifications.rendering import render

    line.credit(49_00)
    line.buy()
    clock.advance(days=7, minutes=-30)
    sweep(catalogue)
    with catalogue.unit() as uow:
        [told] = [m for m in queued_for(uow, f"+{MSISDN}") if m["template"] == "renewal_failed"]
    assert told["params"]["reason_code"] == "no_funds"
    zh = render("renewal_failed", "sms", "zh-CN", told["params"], operator="T").text
    assert "余额不足以支付套餐费用，且没有保存的银行卡" in zh and "wallet" not in zh
    en = render("renewal_failed", "sms", "en", told["params"], operator="T").text
    assert "your balance does not cover the price and no card is saved" in en
