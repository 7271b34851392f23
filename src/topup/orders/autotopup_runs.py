"""The worker's side of auto top-up: each run re-arms rules whose balance is back, fires the
armed rules whose wallet is below the threshold, and finishes top-ups a dead worker left.

Firing one rule is one transaction: the rule's row is locked (``FOR UPDATE SKIP LOCKED``:
another worker skips it rather than waiting), its wallet read again, its caps counted, and
the top-up order created (an ordinary order, method = the saved card's provider, channel
``autotopup``) in the same transaction that disarms the rule and leases it. The card is then
charged outside any transaction, as ``payments.saved.service.pay_with_saved`` does for every
saved-card payment, so the order settles through the normal path (the ledger moves nothing
new). Its outcome is recorded in the rule: a fulfilled top-up by ``autotopup.on_fulfilled`` in
the transaction that credits it, anything else here.

Failures never loop. A declined card (or an order the card can no longer pay) is recorded,
the traveller is told, and the rule stays disarmed until the balance is back at or above the
threshold (a top-up by other means) or the traveller saves the rule again with another card:
an off-session decline needs the card holder, and repeating it only piles up declines. A cap
reached holds the rule (still armed, told once) until the oldest top-up of the 24 hours
leaves the window; a provider out of reach is tried again after ``RETRY``, untold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.sql.functions import coalesce

from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.ledger.tables import accounts
from topup.notifications.recipients import notify_line
from topup.orders.autotopup import (
    CHANNEL,
    AutoTopup,
    day_caps,
    rearm,
    wallet_available,
    wallet_of,
)
from topup.orders.model import LIVE_STATES, Order, OrderRequest, move_order
from topup.orders.renewals import Payers
from topup.orders.service import create_order, get_order
from topup.orders.tables import auto_topups as at
from topup.orders.tables import orders
from topup.payments.errors import ProviderUnavailable
from topup.payments.saved.service import StoredMethod, list_methods, pay_with_saved
from topup.subscribers import lines

log = logging.getLogger("topup.autotopup")
LEASE = timedelta(minutes=5)  # a worker charging a top-up holds it this long
RETRY = timedelta(minutes=10)  # a provider out of reach: look again after this
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    """How one rule's turn ended: paid, pending, declined, refused, capped, unavailable,
    or skipped (another worker has it, or its balance is back)."""

    line_id: int
    state: str
    order_id: int | None = None


class _Stop(Exception):
    """Why a rule does not fire now, and what that does to it: its ``outcome`` (refused,
    capped, unavailable), the ``reason`` the traveller is told (a template's reason code, ""
    for nothing to tell), ``hold_until`` (keep it armed, not before then) and ``switch_off``
    (it can never fire again as it is)."""

    def __init__(self, outcome: str, reason: str, detail: str, *,
                 hold_until: datetime | None = None, switch_off: bool = False) -> None:
        super().__init__(detail)
        self.outcome, self.reason, self.detail = outcome, reason, detail
        self.hold_until, self.switch_off = hold_until, switch_off


def run(db: Database, payers: Payers, limit: int = 200) -> int:
    """One run of the job: re-arm, fire what is due, finish what a dead worker left; returns
    how many top-ups were charged (paid or waiting for the provider)."""
    db.transact(rearm, what="auto top-up re-arm")
    outcomes = [_alone(fire, db, line_id, payers) for line_id in due(db, limit)]
    outcomes += [_alone(resume, db, line_id, payers) for line_id in stranded(db, limit)]
    return sum(o in ("paid", "pending") for o in outcomes)


def _alone(step: Callable[[Database, int, Payers], Outcome], db: Database, line_id: int,
           payers: Payers) -> str:
    """One rule's turn; an unexpected failure is logged and leaves the others their turn
    (the rule's lease, if it was taken, brings it back later)."""
    try:
        return step(db, line_id, payers).state
    except Exception:
        log.exception("auto top-up of line %s failed", line_id)
        return "error"


def _not_held(uow: UnitOfWork) -> Any:
    return or_(at.c.held_until.is_(None), at.c.held_until <= uow.now)


def _armed(uow: UnitOfWork) -> list[Any]:
    return [at.c.enabled.is_(True), at.c.armed.is_(True), at.c.lease_until.is_(None),
            _not_held(uow)]


def due(db: Database, limit: int = 200) -> list[int]:
    """Lines whose armed rule sees its wallet below the threshold (a line never credited has
    no wallet yet: zero)."""
    with db.unit(readonly=True) as uow:
        below = coalesce(wallet_available(), 0) < at.c.threshold
        return [int(i) for i in uow.conn.execute(
            select(at.c.line_id).select_from(at.outerjoin(accounts, wallet_of()))
            .where(*_armed(uow), below).order_by(at.c.line_id).limit(limit)).scalars()]


def stranded(db: Database, limit: int = 200) -> list[int]:
    """Lines whose top-up's lease lapsed: its worker died, or it waits for the provider."""
    with db.unit(readonly=True) as uow:
        return [int(i) for i in uow.conn.execute(select(at.c.line_id).where(
            at.c.lease_until <= uow.now).order_by(at.c.lease_until).limit(limit)).scalars()]


def _claim(uow: UnitOfWork, line_id: int) -> Any:
    """The armed rule, locked, if its wallet is still below the threshold."""
    row = uow.conn.execute(select(at).where(at.c.line_id == line_id, *_armed(uow))
                           .with_for_update(skip_locked=True)).first()
    if row is None:
        return None
    wallet = ledger.wallets(uow, line_id).get(str(row.currency))
    return row if (wallet.available if wallet else 0) < row.threshold else None


def fire(db: Database, line_id: int, payers: Payers) -> Outcome:
    """Fire one line's rule if it is armed and below its threshold: the order is made and the
    rule disarmed in one transaction, then the card is charged outside it."""
    with db.unit() as uow:
        row = _claim(uow, line_id)
        if row is None:
            return Outcome(line_id, "skipped")
        try:
            order, method = _order(uow, row, payers)
        except _Stop as stop:
            return _stopped(uow, row, stop)
        uow.conn.execute(update(at).where(at.c.line_id == line_id).values(
            armed=False, order_id=order.id, lease_until=uow.now + LEASE, held_until=None,
            fired_at=uow.now, last_outcome="charging", last_error=None, updated_at=uow.now))
    return _charge(db, line_id, order, method, payers)


def _method(uow: UnitOfWork, row: Any, payers: Payers) -> StoredMethod:
    line = lines.get_line(uow, int(row.line_id))
    if line.customer_id != row.customer_id:  # the line changed hands: never charge the old
        raise _Stop("refused", "", "the line has another customer now", switch_off=True)
    mine = {m.id: m for m in list_methods(uow, int(row.customer_id))}
    method = mine.get(int(row.method_id))
    if method is None:
        raise _Stop("refused", "card_removed", "the saved card was removed",
                    switch_off=True)
    if method.provider not in payers.savers or method.provider not in payers.providers:
        raise _Stop("unavailable", "", f"{method.provider} cannot charge saved cards here",
                    hold_until=uow.now + RETRY)
    return method


def _order(uow: UnitOfWork, row: Any, payers: Payers) -> tuple[Order, StoredMethod]:
    method = _method(uow, row, payers)
    _check_caps(uow, row)
    req = OrderRequest(kind="topup", method=method.provider, channel=CHANNEL,
                       amount=int(row.amount), currency=str(row.currency),
                       confirm_duplicate=True)  # the rule is the traveller's confirmation
    try:
        with uow.savepoint():
            line = lines.get_line(uow, int(row.line_id))
            order = create_order(uow, None, line, req, provider=payers.providers[method.provider])
    except ProviderUnavailable as exc:
        raise _Stop("unavailable", "", exc.detail, hold_until=uow.now + RETRY) from exc
    except TopupError as exc:  # the line frozen, the amount now out of limits…
        raise _Stop("refused", "refused", exc.detail) from exc
    return order, method


def _check_caps(uow: UnitOfWork, row: Any) -> None:
    """_Stop (capped) when one more top-up would pass the rule's caps for 24 hours."""
    most, most_money = day_caps(uow, AutoTopup.of(row))
    recent = uow.conn.execute(select(orders.c.amount, orders.c.created_at).where(
        orders.c.line_id == row.line_id, orders.c.channel == CHANNEL,
        orders.c.created_at > uow.now - DAY, orders.c.state.in_(LIVE_STATES),
    ).order_by(orders.c.created_at)).all()
    spent = sum(int(r.amount) for r in recent)
    if len(recent) < most and (most_money is None or spent + row.amount <= most_money):
        return
    if not recent:  # the operator's ceiling fell below one top-up: it can never fire
        raise _Stop("refused", "refused", "the amount is above the daily ceiling")
    raise _Stop("capped", "capped", f"at most {most} top-ups a day",
                hold_until=recent[0].created_at + DAY)


def _stopped(uow: UnitOfWork, row: Any, stop: _Stop) -> Outcome:
    """Record a rule that did not fire; tell the traveller once per stop."""
    held = stop.hold_until is not None
    told_before = stop.outcome == "capped" and row.last_outcome == "capped"
    uow.conn.execute(update(at).where(at.c.line_id == row.line_id).values(
        armed=held, held_until=stop.hold_until,
        enabled=False if stop.switch_off else row.enabled,
        last_outcome=stop.outcome, last_error=stop.detail[:300], updated_at=uow.now))
    if stop.reason == "capped" and not told_before:
        _tell(uow, row, "auto_topup_capped", resume_at=stop.hold_until)
    elif stop.reason and stop.reason != "capped":
        _tell(uow, row, "auto_topup_failed", reason=stop.reason)
    return Outcome(int(row.line_id), stop.outcome)


def _tell(uow: UnitOfWork, row: Any, template: str, **more: Any) -> None:
    most, most_money = day_caps(uow, AutoTopup.of(row))
    params: dict[str, Any] = {
        "amount": int(row.amount), "currency": str(row.currency),
        "threshold": int(row.threshold), "max_per_day": most,
        "max_amount_per_day": most_money}
    for key, value in more.items():
        params[key] = value.isoformat() if isinstance(value, datetime) else value
    notify_line(uow, int(row.line_id), template, params)


def _charge(db: Database, line_id: int, order: Order, method: StoredMethod, payers: Payers
            ) -> Outcome:
    """Charge the card off-session outside any transaction, then record how it went."""
    try:
        order = pay_with_saved(db, payers.savers[method.provider],
                               payers.providers[method.provider], order, method.id)
    except ProviderUnavailable as exc:  # the lease lapses and ``resume`` charges again
        detail = exc.detail[:300]

        def later(uow: UnitOfWork) -> None:
            uow.conn.execute(update(at).where(at.c.line_id == line_id, at.c.order_id == order.id)
                             .values(lease_until=uow.now + RETRY, last_error=detail,
                                     updated_at=uow.now))

        db.transact(later, what="auto top-up outcome")
        return Outcome(line_id, "unavailable", order.id)
    except TopupError as exc:  # the card can no longer pay it (removed meanwhile)
        return _cancel(db, line_id, order.id, exc.detail)
    # recording what the provider did is database work only: safe to run again
    return db.transact(lambda uow: _record(uow, line_id, get_order(uow, order.id)),
                       what="auto top-up outcome")


def _cancel(db: Database, line_id: int, order_id: int, detail: str) -> Outcome:
    """Give up a top-up its card cannot pay, and record it. The order is locked before the
    rule, as a settling payment locks them."""
    def work(uow: UnitOfWork) -> Outcome:
        current = get_order(uow, order_id)
        if current.state == "awaiting_payment":
            current = move_order(uow, current, "cancelled", detail[:200])
        return _record(uow, line_id, current, detail)

    return db.transact(work, what="auto top-up cancel")


def _record(uow: UnitOfWork, line_id: int, order: Order, detail: str | None = None
            ) -> Outcome:
    """The rule's top-up ``order`` is paid, still waiting, or failed: record it (once)."""
    row = uow.conn.execute(select(at).where(at.c.line_id == line_id, at.c.order_id == order.id)
                           .with_for_update()).first()
    if order.state in ("paid", "fulfilled"):
        return Outcome(line_id, "paid", order.id)  # on_fulfilled recorded it with the credit
    if row is None or row.lease_until is None:
        return Outcome(line_id, "declined", order.id)  # recorded already
    if order.state in ("created", "awaiting_payment"):
        uow.conn.execute(update(at).where(at.c.line_id == line_id).values(
            lease_until=uow.now + LEASE, last_outcome="pending", updated_at=uow.now))
        return Outcome(line_id, "pending", order.id)
    declined = order.state == "failed"
    uow.conn.execute(update(at).where(at.c.line_id == line_id).values(
        lease_until=None, last_outcome="declined" if declined else "refused",
        last_error=(detail or f"the top-up order is {order.state}")[:300],
        updated_at=uow.now))
    _tell(uow, row, "auto_topup_failed", reason="declined" if declined else "not_completed")
    return Outcome(line_id, "declined" if declined else "refused", order.id)


def resume(db: Database, line_id: int, payers: Payers) -> Outcome:
    """Finish a top-up whose lease lapsed: charge it again when no charge is known to have
    reached the provider (the same idempotency key: never a second payment), else record
    where its order stands."""
    with db.unit() as uow:
        row = uow.conn.execute(select(at).where(
            at.c.line_id == line_id, at.c.lease_until <= uow.now)
            .with_for_update(skip_locked=True)).first()
        if row is None:
            return Outcome(line_id, "skipped")
        order = get_order(uow, int(row.order_id))
        if order.state != "awaiting_payment" or row.last_outcome == "pending":
            return _record(uow, line_id, order)
        try:
            method = _method(uow, row, payers)
        except _Stop as stop:
            if stop.hold_until is None:
                method, gone = None, stop.detail
            else:  # no provider to charge with here now: later
                _lease(uow, line_id, stop.hold_until)
                return Outcome(line_id, "unavailable", order.id)
        else:
            _lease(uow, line_id, uow.now + LEASE)
    if method is None:
        return _cancel(db, line_id, order.id, gone)
    return _charge(db, line_id, order, method, payers)


def _lease(uow: UnitOfWork, line_id: int, until: datetime) -> None:
    uow.conn.execute(update(at).where(at.c.line_id == line_id).values(
        lease_until=until, updated_at=uow.now))
