"""Redemption: the one service behind every channel (API, USSD, IVR, SMS, agent POS, kiosk).

Three short units of work, so that a voucher is used exactly once however many people try it
at the same moment:

1. limits: refuse at once while the line, session, address or terminal is locked;
2. reserve: lock the voucher row, check it is active and unexpired, set it ``reserved`` and
   hold its face value in a pending transfer ``voucher_liability -> clearing:voucher``;
   a wrong PIN is counted (committed) and then refused;
3. post: post the hold, make the order paid from ``clearing:voucher`` (top-up or plan), and
   mark the voucher ``used``. When the order is refused (line frozen, plan withdrawn…) the hold
   is voided and the voucher is active again, then the order's error is raised.

A crash between 2 and 3 leaves a reservation whose hold times out; ``release_stale`` returns
such vouchers to ``active``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from topup.db.uow import Database, UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.errors import PendingAlreadyResolved
from topup.money import Money
from topup.orders.model import OrderRequest, Prepaid
from topup.orders.service import create_order
from topup.subscribers import lines as line_svc
from topup.vouchers import books, cards, limits, pins
from topup.vouchers.errors import (
    VoucherBlocked,
    VoucherBusy,
    VoucherExpired,
    VoucherInactive,
    VoucherUsed,
    WrongPin,
)
from topup.vouchers.tables import vouchers
from topup.vouchers.views import effective_state, serial_text

NO_SUCH_PIN = "no voucher has this PIN; check the digits, or ask the seller"
CHANNELS = ("api", "ussd", "ivr", "sms", "pos", "kiosk", "web")


@dataclass(frozen=True)
class RedeemContext:
    """Who is asking, and through what: every key the attempt limits are charged to."""

    channel: str  # "api", "ussd", "ivr", "sms", "pos", "kiosk", "web" (the portal)
    ip: str | None = None
    terminal_id: int | None = None
    session: str | None = None
    actor_id: int | None = None  # the user who asked (traveller, agent staff), if any


@dataclass(frozen=True)
class Redemption:
    """A redeemed voucher: what it credited (money) or bought (plan), and the order."""

    serial: str
    credited: Money | None  # money vouchers
    plan_id: int | None  # plan vouchers
    order_id: int


@dataclass(frozen=True)
class _Held:
    voucher_id: int
    serial: str
    hold_id: int
    attempt: int
    face: Money
    plan_id: int | None


def redeem(db: Database, pin: str, line_id: int, ctx: RedeemContext,
           then: Callable[[UnitOfWork, Redemption], None] | None = None) -> Redemption:
    """Redeem the voucher with ``pin`` onto line ``line_id``, exactly once; ``then`` runs in
    the unit of work that completes it (a channel stores its reply there, so a retry is
    answered with the first reply and never finds the voucher used by itself).

    Raises RedemptionLocked (before looking at the PIN), WrongPin, VoucherUsed, VoucherExpired,
    VoucherBlocked, VoucherInactive, VoucherBusy, LineNotFound / LineNotUsable, or the order's
    own error when the order cannot be made (the voucher is then active again).
    """
    if ctx.channel not in CHANNELS:
        raise ValueError(f"unknown channel {ctx.channel!r}")
    with db.unit(readonly=True) as uow:
        limits.ensure_open(uow, limits.keys_for(uow, line_id, ctx))
    hashed = pins.pin_hash(db.settings.secret_key, pins.normalise(pin))

    def reserve(uow: UnitOfWork) -> tuple[list[limits.Key], _Held | None]:
        keys = limits.keys_for(uow, line_id, ctx)
        limits.ensure_open(uow, keys)
        held = _reserve(uow, hashed, line_id)
        if held is None:
            limits.record_failure(uow, keys, line_id, ctx)
        return keys, held

    # Each step is its own transaction, run again whole after a serialization failure or a
    # deadlock: database writes only (``then`` stores a reply; the SMS leaves from the outbox).
    keys, held = db.transact(reserve, what="voucher hold")
    if held is None:
        raise WrongPin(NO_SUCH_PIN)

    def complete(uow: UnitOfWork) -> Redemption:
        done = _complete(uow, held, line_id, ctx)
        limits.clear(uow, keys)
        if then is not None:
            then(uow, done)
        return done

    try:
        return db.transact(complete, what="voucher redemption")
    except BaseException:
        db.transact(lambda uow: _release(uow, held.voucher_id, held.hold_id),
                    what="voucher release")
        raise


def refuse_unless_redeemable(row: Any, now: Any) -> None:
    """Raise the error that tells a holder why this voucher cannot be redeemed now."""
    state = effective_state(row.state, row.batch_state, row.expires_at, now)
    if state == "active":
        return
    errors: dict[str, Exception] = {
        "used": VoucherUsed(), "expired": VoucherExpired(), "blocked": VoucherBlocked(),
        "reserved": VoucherBusy("this voucher is being redeemed right now; check the balance "
                                "in a minute"),
    }
    raise errors.get(state, VoucherInactive())


def _reserve(uow: UnitOfWork, hashed: str, line_id: int) -> _Held | None:
    line = line_svc.get_line(uow, line_id)
    line_svc.ensure_usable(line)
    row = cards.by_hash(uow, hashed, lock=True)
    if row is None:
        return None
    refuse_unless_redeemable(row, uow.now)
    face = Money(int(row.face_amount), row.currency)
    attempt = int(row.holds) + 1
    hold = ledger.transfer(
        uow, books.hold_key(row.id, attempt), books.liability(uow, row.id, face.currency),
        books.clearing(uow, line.id, face.currency), face.amount, code="voucher_redeem",
        ref=f"voucher:{serial_text(row.serial)}", pending=True,
        timeout=timedelta(seconds=uow.settings.voucher_hold_seconds))
    uow.conn.execute(update(vouchers).where(vouchers.c.id == row.id).values(
        state="reserved", holds=attempt, hold_id=hold.id, hold_until=hold.timeout_at,
        line_id=line.id))
    return _Held(int(row.id), serial_text(row.serial), hold.id, attempt, face, row.plan_id)


def _complete(uow: UnitOfWork, held: _Held, line_id: int, ctx: RedeemContext) -> Redemption:
    row = cards.by_id(uow, held.voucher_id, lock=True)
    if row.state != "reserved" or row.hold_id != held.hold_id:
        # The hold timed out and was released while this request stalled.
        raise VoucherBusy("the redemption took too long; please try again")
    ledger.post_pending(uow, f"voucher:{held.voucher_id}:post:{held.attempt}", held.hold_id)
    cur = held.face.currency
    clearing = books.clearing(uow, line_id, cur)
    line = line_svc.get_line(uow, line_id)
    # A money card in another currency converts into the line's at the operator's rate.
    req = (OrderRequest(kind="plan", method="voucher", channel=ctx.channel, currency=cur,
                        plan_id=held.plan_id) if held.plan_id is not None else
           OrderRequest(kind="topup", method="voucher", channel=ctx.channel, currency=cur,
                        amount=held.face.amount,
                        credit_currency=line.currency if line.currency != cur else None))
    order = create_order(uow, ctx.actor_id, line, req,
                         prepaid=Prepaid(account_id=clearing, note=f"voucher {held.serial}"))
    _settle_difference(uow, held, line_id, clearing, order.total)
    uow.conn.execute(update(vouchers).where(vouchers.c.id == held.voucher_id).values(
        state="used", order_id=order.id, used_at=uow.now, hold_until=None))
    credited = None if order.kind != "topup" else (
        Money(order.credit_amount, order.credit_currency)
        if order.credit_currency and order.credit_amount else order.money)
    return Redemption(held.serial, credited, order.plan_id, order.id)


def _settle_difference(uow: UnitOfWork, held: _Held, line_id: int, clearing: int,
                       cost: Money) -> None:
    """A plan voucher's plan may now cost more or less than its face: the operator's
    promotion expense takes the difference, so that ``clearing:voucher`` returns to zero and
    the holder gets exactly what the card promised. (Prepaid orders carry no fee.)"""
    diff = held.face.amount - cost.amount
    if diff == 0:
        return
    promo = books.promotion(uow, line_id, cost.currency)
    debit, credit = (clearing, promo) if diff > 0 else (promo, clearing)
    ledger.transfer(uow, f"voucher:{held.voucher_id}:difference", debit, credit, abs(diff),
                    code="voucher_price_difference", ref=f"voucher:{held.serial}")


def _release(uow: UnitOfWork, voucher_id: int, hold_id: int) -> bool:
    """Void the hold of a reservation and make the voucher active again (False when the
    voucher is no longer reserved under that hold: used, or released before)."""
    row = cards.by_id(uow, voucher_id, lock=True)
    if row.state != "reserved" or row.hold_id != hold_id:
        return False
    with suppress(PendingAlreadyResolved):  # the ledger's own expiry sweep voided it first
        ledger.void_pending(uow, f"voucher:{voucher_id}:void:{row.holds}", hold_id)
    uow.conn.execute(update(vouchers).where(vouchers.c.id == voucher_id).values(
        state="active", hold_until=None, line_id=None))
    return True


def release_stale(uow: UnitOfWork, limit: int = 1000) -> int:
    """Return vouchers whose reservation outlived its hold (a crash mid-redemption) to
    ``active``, voiding their holds; returns how many were released."""
    rows = uow.conn.execute(
        select(vouchers.c.id, vouchers.c.hold_id).where(
            vouchers.c.state == "reserved", vouchers.c.hold_until <= uow.now)
        .order_by(vouchers.c.hold_until).limit(limit)).all()
    return sum(1 for r in rows if _release(uow, int(r.id), int(r.hold_id)))
