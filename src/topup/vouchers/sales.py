"""Selling single cards (a retailer paid from its float) and expiring unused ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.vouchers import books, cards
from topup.vouchers.errors import (
    InvalidBatch,
    VoucherBlocked,
    VoucherBusy,
    VoucherExpired,
    VoucherSaleKeyReused,
    VoucherStateConflict,
    VoucherUsed,
)
from topup.vouchers.tables import voucher_batches, vouchers
from topup.vouchers.views import VoucherView, effective_state, serial_text, voucher_view

UNSOLD = ("generated", "distributed")


def _refuse_unless_unsold(row: Any, now: Any) -> None:
    state = effective_state(row.state, row.batch_state, row.expires_at, now)
    if state in UNSOLD and row.generated_at is not None:
        return
    errors: dict[str, Exception] = {
        "used": VoucherUsed(), "expired": VoucherExpired(), "blocked": VoucherBlocked(),
        "reserved": VoucherBusy(),
        "active": VoucherStateConflict("this card is already active (sold before)",
                                       voucher_state=state),
    }
    raise errors.get(state, VoucherStateConflict("the card's batch is not fully generated"))


def sell(uow: UnitOfWork, serial: str, *, payer_account: int, key: str,
         actor_id: int | None) -> VoucherView:
    """Activate one unsold card, paid now: its face value moves ``payer_account`` (an
    agent's float, in the card's currency) -> ``voucher_liability``.

    Idempotent on ``key``: the same key and serial return the card as sold the first time;
    the same key with another serial raises VoucherSaleKeyReused. Raises VoucherStateConflict
    for a card already active, VoucherBlocked / VoucherExpired / VoucherUsed, and the ledger's
    InsufficientFunds or UnitMismatch when the payer cannot pay.
    """
    if not key or len(key) > 100:
        raise InvalidBatch("a sale key has 1 to 100 characters", field="key")
    first = uow.conn.execute(select(vouchers.c.serial).where(vouchers.c.sale_key == key)).first()
    if first is not None:
        if int(first.serial) != int(cards.by_serial(uow, serial).serial):
            raise VoucherSaleKeyReused(f"key {key!r} sold voucher {serial_text(first.serial)}")
        return cards.get_voucher(uow, serial)
    row = cards.by_serial(uow, serial, lock=True)
    if row.sale_key == key:  # a racing retry of this very sale committed while we waited
        return voucher_view(row, uow.now)
    _refuse_unless_unsold(row, uow.now)
    face = int(row.face_amount)
    ledger.transfer(uow, f"voucher_sale:{key}", payer_account,
                    books.liability(uow, int(row.id), row.currency), face, code="voucher_sale",
                    ref=f"voucher:{serial_text(row.serial)}")
    uow.conn.execute(update(vouchers).where(vouchers.c.id == row.id).values(
        state="active", activated_at=uow.now, sale_key=key))
    audit(uow, actor_id, "voucher.sell", f"voucher:{serial_text(row.serial)}", key=key,
          payer_account=payer_account, amount=face, currency=row.currency)
    return voucher_view(cards.by_id(uow, int(row.id)), uow.now)


def _expire_one(uow: UnitOfWork, voucher_id: int) -> bool:
    row = cards.by_id(uow, voucher_id, lock=True)
    held = row.state == "active" or (row.state == "blocked" and row.state_before_block == "active")
    if row.expires_at > uow.now or row.state not in (*UNSOLD, "active", "blocked"):
        return False
    if held:  # the value was paid for and never used: it is the operator's now
        ledger.transfer(uow, f"voucher:{voucher_id}:expire",
                        books.liability(uow, voucher_id, row.currency),
                        books.breakage(uow, voucher_id, row.currency), int(row.face_amount),
                        code="voucher_breakage", ref=f"voucher:{serial_text(row.serial)}")
    uow.conn.execute(update(vouchers).where(vouchers.c.id == voucher_id).values(
        state="expired", state_before_block=None))
    return True


def expire_vouchers(uow: UnitOfWork, limit: int = 1000) -> int:
    """Move cards past their batch's expiry to ``expired``; an active card's value goes
    ``voucher_liability -> breakage``. Reserved cards are left to finish (or to
    ``release_stale``). Returns how many expired; call again until it returns 0."""
    due = uow.conn.execute(
        select(vouchers.c.id).join(voucher_batches, voucher_batches.c.id == vouchers.c.batch_id)
        .where(voucher_batches.c.expires_at <= uow.now,
               vouchers.c.state.in_((*UNSOLD, "active", "blocked")))
        .order_by(vouchers.c.id).limit(limit)).scalars().all()
    return sum(1 for vid in due if _expire_one(uow, int(vid)))
