"""Auto top-up: a line's rule fires once when its wallet crosses the threshold, never twice
for one crossing; charged to the saved Stripe card off-session (localstripe on 127.0.0.1),
credited through the normal order path; capped per day; a declined card is told and not
repeated; two workers fire once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.factories import fund
from tests.integration.jobs.autotopup_world import Traveller, traveller
from tests.integration.payments.stripe_peer import StripePeer
from tests.integration.payments.test_saved_methods import DECLINES_ON_CHARGE
from tests.integration.payments.test_saved_methods import peer as peer
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.orders import autotopup_runs
from topup.orders.service import get_order
from topup.subscribers import lines as line_svc


@pytest.fixture
def t(catalogue: Database, peer: StripePeer) -> Iterator[Traveller]:
    yield traveller(catalogue, peer)


class Crash(BaseException):
    """A worker dying in the middle of its work."""


def test_the_worked_story_fires_once_per_crossing(t: Traveller) -> None:
    card = t.save_card(t.me)
    t.credit(20_00)
    assert t.set_rule(card["id"]).status_code == 200
    assert t.run() == 0 and t.auto_orders() == [], "CN¥20.00 is above CN¥10.00"

    t.use_money(12_00)  # the network's usage: CN¥8.00 left, below the threshold
    seen: list[tuple[int, int, str]] = []

    def meanwhile() -> None:  # the order is in flight and the balance still low
        seen.append((t.run(), t.wallet(), t.auto_orders()[0].state))

    t.watched.during = meanwhile
    assert t.run() == 1
    t.watched.during = None
    assert seen == [(0, 8_00, "awaiting_payment")], "a second run fires nothing"
    [first] = t.auto_orders()
    assert (first.kind, first.method, first.amount, first.state) == (
        "topup", "stripe", 50_00, "fulfilled")
    assert t.wallet() == 58_00
    intent = t.peer.intent(str(first.payment_ref).split(":", 1)[1])
    assert intent["status"] == "succeeded" and intent["amount"] == 50_00
    rule = t.rule()
    assert rule.armed and not rule.in_flight and rule.last_outcome == "paid"
    told = t.told()
    assert sorted(c for c, *_ in told) == ["email", "sms"]
    assert {tpl for _, tpl, _ in told} == {"auto_topup_done"}
    assert told[0][2]["balance"] == 58_00 and told[0][2]["amount"] == 50_00

    t.use_money(3_00)  # still above the threshold
    assert t.run() == 0 and t.run() == 0 and len(t.auto_orders()) == 1
    t.use_money(48_00)  # CN¥7.00: a new crossing
    assert t.run() == 1
    assert [o.state for o in t.auto_orders()] == ["fulfilled", "fulfilled"]
    assert t.wallet() == 57_00 and t.run() == 0


def test_a_worker_that_dies_after_firing_leaves_the_top_up_to_the_next_run(
        t: Traveller, clock: FrozenClock) -> None:
    card = t.save_card(t.me)
    t.set_rule(card["id"])

    def die() -> None:
        raise Crash()

    t.watched.during = die
    with pytest.raises(Crash):
        t.run()  # a line never credited holds CN¥0.00: below the threshold
    t.watched.during = None
    [order] = t.auto_orders()
    assert order.state == "awaiting_payment" and t.rule().in_flight
    assert t.run() == 0, "its lease still holds"
    clock.advance(minutes=6)
    assert t.run() == 1
    [order] = t.auto_orders()
    assert order.state == "fulfilled" and t.wallet() == 50_00
    assert t.rule().last_outcome == "paid"


def test_the_daily_cap_holds_tells_once_then_lets_it_fire_again(
        t: Traveller, clock: FrozenClock) -> None:
    card = t.save_card(t.me)
    assert t.set_rule(card["id"], max_per_day=2).json()["max_per_day"] == 2
    assert t.run() == 1  # CN¥0.00 -> CN¥50.00
    clock.advance(hours=1)
    t.use_money(45_00)
    assert t.run() == 1  # CN¥5.00 -> CN¥55.00
    clock.advance(hours=1)
    t.use_money(54_00)  # CN¥1.00: a third crossing within 24 hours
    assert t.run() == 0 and t.run() == 0
    assert len(t.auto_orders()) == 2 and t.wallet() == 1_00
    capped = [(c, p) for c, tpl, p in t.told() if tpl == "auto_topup_capped"]
    assert sorted(c for c, _ in capped) == ["email", "sms"], "told once"
    assert capped[0][1]["resume_at"] == "2026-11-23T08:00:00+00:00"
    assert t.rule().last_outcome == "capped" and t.rule().armed
    clock.advance(hours=21, minutes=59)
    assert t.run() == 0
    clock.advance(minutes=2)  # the first top-up leaves the 24 hours
    assert t.run() == 1 and t.wallet() == 51_00 and len(t.auto_orders()) == 3


def test_the_daily_amount_cap(t: Traveller) -> None:
    card = t.save_card(t.me)
    assert t.set_rule(card["id"], amount=30_00, max_amount_per_day=60_00).status_code == 200
    assert t.run() == 1
    t.use_money(21_00)
    assert t.run() == 1  # CN¥60.00 today
    t.use_money(30_00)
    assert t.run() == 0 and len(t.auto_orders()) == 2
    assert t.rule().last_outcome == "capped"


def test_a_declined_card_is_told_and_not_tried_again_for_that_crossing(t: Traveller) -> None:
    card = t.save_card(t.me, DECLINES_ON_CHARGE)
    t.credit(10_00)
    t.use_money(6_00)
    t.set_rule(card["id"])
    assert t.run() == 0
    [order] = t.auto_orders()
    assert order.state == "failed" and t.wallet() == 4_00
    rule = t.rule()
    assert (rule.armed, rule.in_flight, rule.last_outcome) == (False, False, "declined")
    failed = [p for _, tpl, p in t.told() if tpl == "auto_topup_failed"]
    assert len(failed) == 2 and failed[0]["reason"] == "declined"
    for _ in range(3):
        assert t.run() == 0
    assert len(t.auto_orders()) == 1 and len(t.told()) == 2, "no loop of declines"
    t.credit(20_00)  # back above the threshold: armed for the next crossing
    assert t.rule().armed
    t.use_money(18_00)
    t.run()
    assert [o.state for o in t.auto_orders()] == ["failed", "failed"]
    good = t.save_card(t.me)
    assert t.set_rule(good["id"]).json()["armed"], "another card arms it at once"
    assert t.run() == 1 and t.wallet() == 56_00


def test_a_balance_raised_without_an_order_re_arms_on_the_next_run(t: Traveller) -> None:
    card = t.save_card(t.me, DECLINES_ON_CHARGE)
    t.set_rule(card["id"])
    assert t.run() == 0 and not t.rule().armed  # declined: CN¥0.00 and disarmed
    with t.db.unit(readonly=True) as uow:
        line = line_svc.get_line(uow, t.line_id)
    fund(t.db, line, 30_00)  # money that reaches the wallet without a top-up order
    assert not t.rule().armed, "no order, no handler: the job's own pass must see it"
    t.run()
    assert t.rule().armed and len(t.auto_orders()) == 1
    t.use_money(21_00)
    t.run()
    assert len(t.auto_orders()) == 2, "the next crossing fires"


def test_a_removed_card_switches_the_rule_off(t: Traveller) -> None:
    card = t.save_card(t.me)
    t.set_rule(card["id"])
    assert t.api.client.delete(f"/api/v1/payment-methods/{card['id']}",
                               headers=t.me).status_code == 204
    assert t.run() == 0 and t.auto_orders() == []
    rule = t.rule()
    assert not rule.enabled and rule.last_outcome == "refused"
    assert {p["reason"] for _, tpl, p in t.told() if tpl == "auto_topup_failed"} == {
        "card_removed"}


@pytest.mark.parametrize("entry", ["run", "fire"])
def test_two_workers_fire_once(t: Traveller, entry: str) -> None:
    card = t.save_card(t.me)
    t.set_rule(card["id"])
    gate = threading.Barrier(4)
    results: list[object] = []

    def worker() -> None:
        gate.wait()
        try:
            if entry == "run":
                results.append(t.run())
            else:
                results.append(autotopup_runs.fire(t.db, t.line_id, t.payers).state)
        except Exception as exc:  # a failure must show in the assertion, not vanish
            results.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    expected = [0, 0, 0, 1] if entry == "run" else ["paid", "skipped", "skipped", "skipped"]
    assert sorted(results, key=str) == sorted(expected, key=str)
    [order] = t.auto_orders()
    assert order.state == "fulfilled" and t.wallet() == 50_00
    with t.db.unit(readonly=True) as uow:
        assert get_order(uow, order.id).amount == 50_00
