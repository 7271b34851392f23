"""Time passes: a traveller's plan ends (the rest to breakage, the price earned), the line with
nothing left goes to grace, suspension and termination; value brings it back; a frozen line
never moves by itself."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_line
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.jobs.lifecycle import advance_lines, expire_buckets
from topup.ledger import service as ledger
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import lines

GB = 1024**3


class Traveller:
    def __init__(self, db: Database, country: str = "TH") -> None:
        self.db = db
        self.line = make_line(db, country=country)
        self.n = 0

    def credit(self, amount: int) -> None:
        self.n += 1
        with self.db.unit() as uow:
            create_order(uow, None, lines.get_line(uow, self.line.id), OrderRequest(
                kind="topup", method="manual", channel="api", amount=amount,
                reason=f"test {self.n}", confirm_duplicate=True))

    def buy(self, code: str) -> Any:
        with self.db.unit() as uow:
            plan = catalog.get_plan_by_code(uow, code)
            return create_order(uow, None, lines.get_line(uow, self.line.id), OrderRequest(
                kind="plan", method="wallet", channel="api", plan_id=plan.id,
                confirm_duplicate=True))

    def status(self) -> str:
        with self.db.unit() as uow:
            return lines.get_line(uow, self.line.id).status

    def operator(self, kind: str, unit: str) -> int:
        with self.db.unit() as uow:
            acct = ledger.operator_account(uow, kind, unit, line_id=self.line.id)
            return ledger.balance(uow, acct).posted


@pytest.fixture
def t(catalogue: Database) -> Traveller:
    return Traveller(catalogue)


def test_an_ended_plan_goes_to_breakage_and_its_price_is_earned(
        t: Traveller, clock: FrozenClock) -> None:
    t.credit(49_00)
    t.buy("TH-7D-10GB")
    assert expire_buckets(t.db) == 0, "not ended yet"
    clock.advance(days=7, seconds=1)
    assert expire_buckets(t.db) == 1
    assert expire_buckets(t.db) == 0, "once"
    assert t.operator("breakage", "data") == 10 * GB
    assert t.operator("revenue", "money:CNY") == 49_00
    assert t.operator("deferred_revenue", "money:CNY") == 0


def test_a_line_left_with_nothing_lapses_step_by_step(
        t: Traveller, clock: FrozenClock, catalogue: Database) -> None:
    t.credit(49_00)
    t.buy("TH-7D-10GB")
    assert t.status() == "active"
    assert advance_lines(catalogue) == {"grace": 0, "suspended": 0, "terminated": 0}
    clock.advance(days=7, seconds=1)
    expire_buckets(catalogue)
    assert advance_lines(catalogue)["grace"] == 1 and t.status() == "grace"
    clock.advance(days=catalogue.settings.grace_days - 1)
    assert advance_lines(catalogue)["suspended"] == 0
    clock.advance(days=1)
    assert advance_lines(catalogue)["suspended"] == 1 and t.status() == "suspended"
    clock.advance(days=catalogue.settings.suspended_days)
    assert advance_lines(catalogue)["terminated"] == 1 and t.status() == "terminated"
    with catalogue.unit() as uow:
        history = lines.line_history(uow, t.line.id)
    assert [e["to_status"] for e in history][-3:] == ["grace", "suspended", "terminated"]
    assert history[-3]["reason"] == "no plan and no money left" and history[-1]["actor_id"] is None


def test_value_brings_a_lapsed_line_back_and_money_keeps_it(
        t: Traveller, clock: FrozenClock, catalogue: Database) -> None:
    t.credit(49_00)
    t.buy("TH-7D-10GB")
    clock.advance(days=8)
    expire_buckets(catalogue)
    advance_lines(catalogue)
    clock.advance(days=catalogue.settings.grace_days)
    advance_lines(catalogue)
    assert t.status() == "suspended"
    t.credit(10_00)
    assert t.status() == "active", "a top-up in suspension reactivates"
    clock.advance(days=90)
    assert advance_lines(catalogue)["grace"] == 0, "money left: the line stays active"


def test_a_frozen_line_never_moves_by_itself(
        t: Traveller, clock: FrozenClock, catalogue: Database) -> None:
    t.credit(49_00)
    t.buy("TH-7D-10GB")
    with catalogue.unit() as uow:
        lines.freeze(uow, t.line.id, actor=None, reason="fraud check")
    clock.advance(days=120)
    expire_buckets(catalogue)
    assert advance_lines(catalogue) == {"grace": 0, "suspended": 0, "terminated": 0}
    assert t.status() == "frozen"


def test_sweeps_work_in_batches(catalogue: Database, clock: FrozenClock) -> None:
    many = [Traveller(catalogue) for _ in range(7)]
    for one in many:
        one.credit(49_00)
        one.buy("TH-7D-10GB")
    clock.advance(days=8)
    assert expire_buckets(catalogue, batch=3) == 7
    assert advance_lines(catalogue, batch=3)["grace"] == 7
    assert {one.status() for one in many} == {"grace"}


def test_lines_that_keep_value_are_passed_over_batch_after_batch(
        catalogue: Database, clock: FrozenClock) -> None:
    kinds = ["money", "empty", "plan", "empty", "empty", "money", "plan", "empty", "empty"]
    people = []
    for kind in kinds:
        one = Traveller(catalogue)
        one.credit(49_00 if kind != "plan" else 99_00)
        one.buy("TH-30D-20GB" if kind == "plan" else "TH-7D-10GB")
        if kind == "money":
            one.credit(10_00)
        people.append(one)
    clock.advance(days=8)
    expire_buckets(catalogue)
    assert advance_lines(catalogue, batch=2) == {"grace": 5, "suspended": 0, "terminated": 0}
    assert [one.status() for one in people] == [
        "active" if kind != "empty" else "grace" for kind in kinds]
    assert advance_lines(catalogue, batch=2) == {"grace": 0, "suspended": 0, "terminated": 0}
