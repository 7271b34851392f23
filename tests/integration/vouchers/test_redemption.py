"""Redeeming vouchers through the one service every channel uses: exactly once, with the
value booked through the liability and the clearing account, and every refusal told apart."""

from __future__ import annotations

import pytest

from tests.integration.vouchers.conftest import make_batch, operator_total, wallet
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.money import Money
from topup.orders.service import get_order
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import LineNotUsable
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers
from topup.vouchers.errors import (
    VoucherBlocked,
    VoucherBusy,
    VoucherExpired,
    VoucherInactive,
    VoucherUsed,
    WrongPin,
)
from topup.vouchers.pins import grouped

API = vouchers.RedeemContext(channel="api", ip="198.51.100.7")


def test_a_voucher_credits_its_face_value_exactly_once(db: Database, line: Line) -> None:
    made = make_batch(db, count=3, face=50_00)
    assert operator_total(db, "voucher_liability") == 150_00
    done = vouchers.redeem(db, made.pins[0], line.id, API)
    assert done.credited == Money(50_00, "CNY") and done.plan_id is None
    assert done.serial == made.cards[0].serial
    assert wallet(db, line.id) == 50_00
    with pytest.raises(VoucherUsed):
        vouchers.redeem(db, made.pins[0], line.id, API)
    assert wallet(db, line.id) == 50_00
    assert operator_total(db, "voucher_liability") == 100_00
    assert operator_total(db, "clearing:voucher") == 0
    with db.unit(readonly=True) as uow:
        order = get_order(uow, done.order_id)
        check = vouchers.check_serial(uow, made.cards[0].serial)
        line_now = line_svc.get_line(uow, line.id)
    assert (order.method, order.channel, order.state) == ("voucher", "api", "fulfilled")
    assert check.state == "used"
    assert line_now.status == "active", "value received activates a provisioned line"


def test_pin_typed_with_spaces_dashes_and_full_width_digits(db: Database, line: Line) -> None:
    made = make_batch(db, count=2, face=10_00)
    spaced = grouped(made.pins[0]).replace(" ", " - ")
    assert vouchers.redeem(db, spaced, line.id, API).credited == Money(10_00, "CNY")
    wide = made.pins[1].translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert vouchers.redeem(db, wide, line.id, API).credited == Money(10_00, "CNY")


def test_refusals_say_used_expired_blocked_inactive_or_wrong(
        db: Database, line: Line, clock: FrozenClock, staff: int) -> None:
    made = make_batch(db, count=4, face=10_00, days=30)
    unsold = make_batch(db, count=1, activate=False)
    with pytest.raises(VoucherInactive):
        vouchers.redeem(db, unsold.pins[0], line.id, API)
    with db.unit() as uow:
        vouchers.block_range(uow, made.cards[1].serial, made.cards[1].serial, staff, "stolen")
    with pytest.raises(VoucherBlocked):
        vouchers.redeem(db, made.pins[1], line.id, API)
    with db.unit() as uow:
        vouchers.block_batch(uow, made.batch.id, staff, "shipment lost")
    with pytest.raises(VoucherBlocked):
        vouchers.redeem(db, made.pins[0], line.id, API)
    with db.unit() as uow:
        vouchers.unblock_batch(uow, made.batch.id, staff, "found")
    wrong = made.pins[0][:-3] + ("000" if made.pins[0][-3:] != "000" else "111")
    with pytest.raises(WrongPin):
        vouchers.redeem(db, wrong, line.id, API)
    clock.advance(days=31)
    with pytest.raises(VoucherExpired):
        vouchers.redeem(db, made.pins[2], line.id, API)
    assert wallet(db, line.id) == 0


def test_a_frozen_line_takes_nothing_and_the_voucher_stays_good(
        db: Database, line: Line, staff: int) -> None:
    made = make_batch(db, count=1, face=10_00)
    with db.unit() as uow:
        line_svc.freeze(uow, line.id, actor=staff, reason="fraud check")
    with pytest.raises(LineNotUsable):
        vouchers.redeem(db, made.pins[0], line.id, API)
    with db.unit() as uow:
        line_svc.unfreeze(uow, line.id, actor=staff, reason="cleared")
    assert vouchers.redeem(db, made.pins[0], line.id, API).credited == Money(10_00, "CNY")


def reprice(db: Database, code: str, cny: int | None = None, *, active: bool = True) -> int:
    """Change a plan's CNY price (or withdraw it); returns its id."""
    from dataclasses import asdict

    from topup.catalog import service as catalog

    with db.unit() as uow:
        plan = catalog.get_plan_by_code(uow, code)
        fields = {k: v for k, v in asdict(plan).items()
                  if k in catalog.PlanSpec.__dataclass_fields__}
        prices = dict(plan.prices) | ({"CNY": cny} if cny is not None else {})
        return catalog.upsert_plan(uow, catalog.PlanSpec(
            **(fields | {"prices": prices, "active": active}))).id


def test_plan_voucher_buys_its_plan_whatever_the_price_is_now(
        catalogue: Database, line: Line) -> None:
    db = catalogue
    plan_id = reprice(db, "TH-7D-10GB")
    made = make_batch(db, count=3, face=None, plan_id=plan_id)
    assert made.batch.face == Money(49_00, "CNY")
    first = vouchers.redeem(db, made.pins[0], line.id, API)
    assert first.plan_id == plan_id and first.credited is None
    with db.unit(readonly=True) as uow:
        assert get_order(uow, first.order_id).bucket_id is not None
    assert operator_total(db, "deferred_revenue") == 49_00
    reprice(db, "TH-7D-10GB", 59_00)  # dearer now: the operator pays the difference
    vouchers.redeem(db, made.pins[1], line.id, API)
    assert operator_total(db, "promotion_expense") == -10_00
    reprice(db, "TH-7D-10GB", 39_00)  # cheaper now: the difference comes back
    vouchers.redeem(db, made.pins[2], line.id, API)
    assert operator_total(db, "promotion_expense") == 0
    assert operator_total(db, "deferred_revenue") == 49_00 + 59_00 + 39_00
    assert operator_total(db, "clearing:voucher") == 0
    assert operator_total(db, "voucher_liability") == 0
    assert wallet(db, line.id) == 0


def test_a_refused_order_voids_the_hold_and_the_voucher_stays_active(
        catalogue: Database, line: Line) -> None:
    from topup.catalog.errors import PlanNotOnSale

    db = catalogue
    plan_id = reprice(db, "TH-1D-1GB")
    made = make_batch(db, count=1, face=None, plan_id=plan_id)
    reprice(db, "TH-1D-1GB", active=False)
    with pytest.raises(PlanNotOnSale):
        vouchers.redeem(db, made.pins[0], line.id, API)
    with db.unit(readonly=True) as uow:
        assert vouchers.check_serial(uow, made.cards[0].serial).state == "active"
    assert operator_total(db, "voucher_liability") == 9_90
    assert operator_total(db, "clearing:voucher") == 0
    reprice(db, "TH-1D-1GB", active=True)
    assert vouchers.redeem(db, made.pins[0], line.id, API).plan_id == plan_id


def test_a_reservation_left_by_a_crash_is_released_after_its_hold_times_out(
        db: Database, line: Line, clock: FrozenClock) -> None:
    from topup.vouchers import pins, redemption

    made = make_batch(db, count=1, face=20_00)
    with db.unit() as uow:  # step 2 of a redemption whose process then died
        held = redemption._reserve(uow, pins.pin_hash(db.settings.secret_key, made.pins[0]),
                                   line.id)
    assert held is not None
    with pytest.raises(VoucherBusy):
        vouchers.redeem(db, made.pins[0], line.id, API)
    with db.unit() as uow:
        assert vouchers.release_stale(uow) == 0, "the hold has not timed out yet"
    clock.advance(seconds=db.settings.voucher_hold_seconds)
    with db.unit() as uow:
        assert vouchers.release_stale(uow) == 1
    with db.unit() as uow:
        assert vouchers.release_stale(uow) == 0
    assert operator_total(db, "clearing:voucher") == 0
    assert vouchers.redeem(db, made.pins[0], line.id, API).credited == Money(20_00, "CNY")
    assert wallet(db, line.id) == 20_00


def test_fee_rules_do_not_touch_a_voucher(db: Database, line: Line) -> None:
    from topup.catalog.fees import set_fee_rule

    with db.unit() as uow:
        set_fee_rule(uow, "*", "*", "CNY", 1_00, 0)
    made = make_batch(db, count=1, face=30_00)
    done = vouchers.redeem(db, made.pins[0], line.id, API)
    assert wallet(db, line.id) == 30_00, "the holder gets the whole face value"
    with db.unit(readonly=True) as uow:
        assert get_order(uow, done.order_id).fee == 0
    assert operator_total(db, "promotion_expense") == 0
    assert operator_total(db, "clearing:voucher") == 0
