"""A retailer sells single cards paid from its float; cards past their expiry leave their
value to breakage."""

from __future__ import annotations

import pytest

from tests.integration.vouchers.conftest import make_batch, operator_total, wallet
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.ledger.accounts import AGENT_FLOAT_SALES
from topup.ledger.errors import InsufficientFunds
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers
from topup.vouchers.errors import (
    VoucherBlocked,
    VoucherExpired,
    VoucherSaleKeyReused,
    VoucherStateConflict,
)

API = vouchers.RedeemContext(channel="pos", terminal_id=3)


def float_account(db: Database, amount: int) -> int:
    """A retailer's float holding ``amount`` CNY (the agents area owns real ones)."""
    with db.unit() as uow:
        acct = ledger.open_account(uow, "test:float:money:CNY", "money:CNY", "agent_float",
                                   no_overdraft=True)
        cash = ledger.operator_account(uow, AGENT_FLOAT_SALES, "money:CNY")
        ledger.transfer(uow, f"fund:{amount}", cash, acct, amount, code="float_funding")
        return acct


def balance(db: Database, account: int) -> int:
    with db.unit(readonly=True) as uow:
        return ledger.balance(uow, account).posted


def test_a_sold_card_is_paid_from_the_float_once_and_redeems(db: Database, line: Line,
                                                             staff: int) -> None:
    made = make_batch(db, count=3, face=30_00, activate=False)
    payer = float_account(db, 100_00)
    serial = made.cards[0].serial
    with db.unit() as uow:
        sold = vouchers.sell(uow, serial, payer_account=payer, key="sale-1", actor_id=staff)
    assert sold.state == "active" and sold.serial == serial and sold.activated_at is not None
    with db.unit() as uow:
        again = vouchers.sell(uow, serial, payer_account=payer, key="sale-1", actor_id=staff)
    assert again == sold, "a retried sale returns the first and moves nothing"
    assert balance(db, payer) == 70_00
    with db.unit() as uow, pytest.raises(VoucherSaleKeyReused):
        vouchers.sell(uow, made.cards[1].serial, payer_account=payer, key="sale-1",
                      actor_id=staff)
    with db.unit() as uow, pytest.raises(VoucherStateConflict):
        vouchers.sell(uow, serial, payer_account=payer, key="sale-2", actor_id=staff)
    assert operator_total(db, "voucher_liability") == 30_00
    assert vouchers.redeem(db, made.pins[0], line.id, API).credited is not None
    assert wallet(db, line.id) == 30_00
    with db.unit() as uow:  # the rest of the batch is sold to a distributor later
        vouchers.activate_batch(uow, made.batch.id, staff)
    assert operator_total(db, "voucher_liability") == 2 * 30_00
    assert operator_total(db, "voucher_sales") == -2 * 30_00


def test_a_float_too_low_sells_nothing(db: Database, staff: int) -> None:
    made = make_batch(db, count=1, face=30_00, activate=False)
    payer = float_account(db, 10_00)
    with db.unit() as uow, pytest.raises(InsufficientFunds):
        vouchers.sell(uow, made.cards[0].serial, payer_account=payer, key="k", actor_id=staff)
    with db.unit(readonly=True) as uow:
        assert vouchers.check_serial(uow, made.cards[0].serial).state == "distributed"
    assert balance(db, payer) == 10_00


def test_blocked_or_expired_cards_are_not_sold(db: Database, staff: int,
                                               clock: FrozenClock) -> None:
    made = make_batch(db, count=2, face=30_00, activate=False, days=10)
    payer = float_account(db, 100_00)
    with db.unit() as uow:
        vouchers.block_batch(uow, made.batch.id, staff, "audit")
    with db.unit() as uow, pytest.raises(VoucherBlocked):
        vouchers.sell(uow, made.cards[0].serial, payer_account=payer, key="a", actor_id=staff)
    with db.unit() as uow:
        vouchers.unblock_batch(uow, made.batch.id, staff, "done")
    clock.advance(days=11)
    with db.unit() as uow, pytest.raises(VoucherExpired):
        vouchers.sell(uow, made.cards[0].serial, payer_account=payer, key="b", actor_id=staff)
    assert balance(db, payer) == 100_00


def test_unused_cards_expire_into_breakage(db: Database, line: Line, staff: int,
                                           clock: FrozenClock) -> None:
    made = make_batch(db, count=4, face=10_00, days=30)
    never_sold = make_batch(db, count=2, face=10_00, days=30, activate=False)
    vouchers.redeem(db, made.pins[0], line.id, API)
    with db.unit() as uow:
        vouchers.block_range(uow, made.cards[1].serial, made.cards[1].serial, staff, "lost")
    with db.unit() as uow:
        assert vouchers.expire_vouchers(uow) == 0, "nothing is due yet"
    clock.advance(days=30)
    with db.unit() as uow:
        assert vouchers.expire_vouchers(uow, limit=2) == 2
    with db.unit() as uow:
        assert vouchers.expire_vouchers(uow) == 3
    with db.unit() as uow:
        assert vouchers.expire_vouchers(uow) == 0
    assert operator_total(db, "breakage") == 3 * 10_00, "three active cards, one blocked"
    assert operator_total(db, "voucher_liability") == 0
    with db.unit(readonly=True) as uow:
        states = [vouchers.check_serial(uow, c.serial).state
                  for c in made.cards + never_sold.cards]
    assert states == ["used", "expired", "expired", "expired", "expired", "expired"]
