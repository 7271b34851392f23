"""Auto-renew: a line that opted in gets each ending plan bought again, from the wallet when
it holds the price, else with the customer's saved payment method.

Which plan: the one ending (the last bucket of its plan on the line, nothing stacked after it),
taken up ``renew_lead_minutes`` before it ends so the new bucket follows on without a gap; and
a plan whose ``renew_on`` is ``data_out`` as soon as its data is used up (the new bucket then
starts at once). At
most ``max_renewals_per_day`` renewal orders per line in 24 hours. A failed attempt (no money,
no saved method, a decline, the plan off sale) notifies the customer and is retried after
each delay of ``renewal_retry_minutes``, then given up (the customer is told).

Exactly once: each bucket's row is claimed with a lease by a conditional update, so two
workers never renew the same bucket; the wallet path writes the order and the outcome in one
unit of work; a card charge is keyed by its order, and a worker that dies mid-charge leaves
the order for the next claim (or reconciliation) to finish.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from topup.catalog import service as catalog
from topup.catalog.quotes import price
from topup.charging import buckets
from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.notifications.recipients import notify_line
from topup.orders.model import LIVE_STATES, Order, OrderRequest
from topup.orders.service import create_order, get_order
from topup.orders.tables import auto_renewals as renewals
from topup.orders.tables import orders
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods
from topup.payments.saved.service import StoredMethod, list_methods, pay_with_saved
from topup.subscribers import lines

CHANNEL = "autorenew"
LEASE = timedelta(minutes=5)
# Why a renewal failed, as a code the messages translate (templates/*/_renewal.txt): the
# refusals of the services that a renewal meets, then the renewal's own reasons — ``no_funds``
# (not in the wallet, no saved card), ``declined`` (the saved card), ``daily_limit``, ``off``
# (auto-renew switched off; not told) — and ``refused`` for anything else.
REASONS = {
    "plan_not_on_sale": "plan_off_sale", "price_not_available": "plan_off_sale",
    "plan_not_found": "plan_off_sale", "line_not_usable": "line_blocked",
    "insufficient_funds": "no_funds", "payment_method_unavailable": "declined",
}
CODES = frozenset({*REASONS.values(), "refused"})
PENDING = "pending"  # not a failure: a card charge whose outcome is not known yet
# ``auto_renewals.last_error`` is "<reason>: <English detail>", so the reason can be shown in
# the traveller's language later (``trouble``) without a column of its own.
SHOWN_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Trouble:
    """The line's latest renewal that failed: which plan, why (a ``REASONS`` code), whether
    it is tried again (``retry``, at ``next_attempt_at``) or ``given_up``."""

    plan_id: int
    state: str
    reason: str
    next_attempt_at: datetime | None


def trouble(uow: UnitOfWork, line_id: int) -> Trouble | None:
    """The line's newest renewal, if it failed in the last week and nothing renewed since."""
    row = uow.conn.execute(select(renewals).where(
        renewals.c.bucket_id.in_(buckets.of_line(line_id)),
        renewals.c.updated_at > uow.now - SHOWN_FOR)
        .order_by(renewals.c.updated_at.desc(), renewals.c.bucket_id.desc()).limit(1)).first()
    if row is None or row.state not in ("retry", "given_up") or not row.last_error:
        return None
    reason = str(row.last_error).split(":", 1)[0]
    if reason in (PENDING, "off", "daily_limit"):  # none of them was told as a failure
        return None
    return Trouble(int(row.plan_id), str(row.state), reason if reason in CODES else "refused",
                   row.next_attempt_at if row.state == "retry" else None)


@dataclass(frozen=True)
class Payers:
    """What a renewal may charge besides the wallet (from the composition root)."""

    providers: Mapping[str, PaymentProvider]
    savers: Mapping[str, SavesMethods]


@dataclass(frozen=True)
class Outcome:
    """How one renewal attempt ended: renewed, retry (later), given_up, or skipped."""

    bucket_id: int
    state: str
    order_id: int | None = None
    error: str | None = None


def take_up(db: Database, limit: int = 200) -> int:
    """Record the buckets now due for renewal (idempotent): those ending soon, and those of
    ``renew_on = data_out`` plans whose data is used up; returns how many were new."""
    def work(uow: UnitOfWork) -> int:
        taken = select(renewals.c.bucket_id)
        # a plan bought for a group is bought again by hand, for the group (not renewed
        # as the buying line's own)
        ending = buckets.ending_by(
            uow, uow.now + timedelta(minutes=uow.settings.renew_lead_minutes),
            lines.auto_renew_lines(), taken, limit, shared=False)
        used_up = buckets.data_used_up(uow, lines.auto_renew_lines(),
                                       catalog.plans_renewing_on_data_out(), taken, limit)
        due = [(b, ln, p) for b, ln, p, _ in ending] + [(b, ln, p) for b, ln, p, _ in used_up]
        for bucket_id, line_id, plan_id in due:
            uow.conn.execute(insert_ignore(uow, renewals, {
                "bucket_id": bucket_id, "line_id": line_id, "plan_id": plan_id,
                "state": "retry", "attempts": 0, "next_attempt_at": uow.now,
                "created_at": uow.now, "updated_at": uow.now}, ["bucket_id"]))
        return len(due)

    return db.transact(work, what="renewal take-up")


def due(db: Database, limit: int = 200) -> list[int]:
    """Buckets whose renewal may be attempted now (waiting, or a lapsed lease)."""
    with db.unit(readonly=True) as uow:
        return [int(i) for i in uow.conn.execute(select(renewals.c.bucket_id).where(
            ((renewals.c.state == "retry") & (renewals.c.next_attempt_at <= uow.now))
            | ((renewals.c.state == "running") & (renewals.c.lease_until <= uow.now)))
            .order_by(renewals.c.next_attempt_at).limit(limit)).scalars()]


def _claim(uow: UnitOfWork, bucket_id: int) -> Any:
    claimed = uow.conn.execute(update(renewals).where(
        renewals.c.bucket_id == bucket_id,
        ((renewals.c.state == "retry") & (renewals.c.next_attempt_at <= uow.now))
        | ((renewals.c.state == "running") & (renewals.c.lease_until <= uow.now)),
    ).values(state="running", lease_until=uow.now + LEASE, updated_at=uow.now))
    if claimed.rowcount != 1:
        return None
    return uow.conn.execute(select(renewals).where(renewals.c.bucket_id == bucket_id)).one()


def renew(db: Database, bucket_id: int, payers: Payers) -> Outcome:
    """One attempt at renewing one bucket; another worker's claim makes it ``skipped``."""
    with db.unit() as uow:
        row = _claim(uow, bucket_id)
        if row is None:
            return Outcome(bucket_id, "skipped")
        if row.order_id is not None:  # an earlier attempt died after making its order
            return _settle(uow, row, get_order(uow, int(row.order_id)))
        try:
            order, method = _order(uow, row, payers)
        except _Stop as stop:
            return _failed(uow, row, stop)
        except TopupError as exc:  # the plan is off sale, the line frozen…
            return _failed(uow, row, _Stop(exc.detail, reason=REASONS.get(exc.code, "refused")))
        if method is None:
            return _settle(uow, row, order)
        uow.conn.execute(update(renewals).where(renewals.c.bucket_id == bucket_id)
                         .values(order_id=order.id))
    return _charge(db, row, order, method, payers)


def _order(uow: UnitOfWork, row: Any, payers: Payers) -> tuple[Order, StoredMethod | None]:
    """The renewal order: paid from the wallet at once, or awaiting a saved-card charge."""
    line = lines.get_line(uow, int(row.line_id))
    if not line.auto_renew:
        raise _Stop("auto-renew was switched off", retry=False, tell=False, reason="off")
    recent = uow.conn.execute(select(func.count()).select_from(orders).where(
        orders.c.line_id == line.id, orders.c.channel == CHANNEL,
        orders.c.created_at > uow.now - timedelta(hours=24),
        orders.c.state.in_(LIVE_STATES))).scalar_one()
    if recent >= uow.settings.max_renewals_per_day:
        raise _Stop(f"at most {uow.settings.max_renewals_per_day} renewals a day", count=False,
                    reason="daily_limit")
    plan = catalog.get_plan(uow, int(row.plan_id))
    # the one price service decides, as for every channel: what the wallet must hold is
    # the quote's total (its fee included), the very quote the order then stores
    quoted = price(uow, plan, line.currency, uow.now, CHANNEL, customer=line.customer_id,
                   method="wallet")
    total = quoted.money(quoted.total)
    wallet = ledger.wallets(uow, line.id).get(total.currency)
    req = OrderRequest(kind="plan", method="wallet", channel=CHANNEL, plan_id=plan.id,
                       currency=total.currency, confirm_duplicate=True)
    if wallet is not None and wallet.available >= total.amount:
        return create_order(uow, None, line, req), None
    method = _saved_method(uow, line.customer_id, payers)
    if method is None:
        raise _Stop(f"{total} is not in the wallet and no card is saved", reason="no_funds")
    return create_order(uow, None, line, OrderRequest(
        kind="plan", method=method.provider, channel=CHANNEL, plan_id=plan.id,
        currency=total.currency, confirm_duplicate=True),
        provider=payers.providers[method.provider]), method


def _saved_method(uow: UnitOfWork, customer_id: int | None, payers: Payers
                  ) -> StoredMethod | None:
    """The customer's newest saved method that a configured provider can charge."""
    if customer_id is None:
        return None
    usable = [m for m in list_methods(uow, customer_id)
              if m.provider in payers.savers and m.provider in payers.providers]
    return max(usable, key=lambda m: (m.created_at, m.id), default=None)


def _charge(db: Database, row: Any, order: Order, method: StoredMethod, payers: Payers
            ) -> Outcome:
    """Charge the saved method outside any transaction, then record how it went."""
    try:
        order = pay_with_saved(db, payers.savers[method.provider],
                               payers.providers[method.provider], order, method.id)
    except TopupError as exc:  # unreachable provider: the order waits for the next claim
        detail = exc.detail
        return db.transact(lambda uow: _later(uow, row, detail), what="renewal outcome")
    # recording what the provider did is database work only: safe to run again
    return db.transact(lambda uow: _settle(uow, row, get_order(uow, order.id)),
                       what="renewal outcome")


def _settle(uow: UnitOfWork, row: Any, order: Order) -> Outcome:
    if order.state == "fulfilled":
        uow.conn.execute(update(renewals).where(renewals.c.bucket_id == row.bucket_id).values(
            state="renewed", order_id=order.id, lease_until=None, last_error=None,
            updated_at=uow.now))
        return Outcome(int(row.bucket_id), "renewed", order.id)
    if order.state in ("created", "awaiting_payment"):
        return _later(uow, row, "the card payment has not completed yet")
    uow.conn.execute(update(renewals).where(renewals.c.bucket_id == row.bucket_id)
                     .values(order_id=None))
    return _failed(uow, row, _Stop("the saved card was declined", reason="declined"))


def _later(uow: UnitOfWork, row: Any, error: str) -> Outcome:
    """Look again soon, without counting an attempt (the outcome is not known yet)."""
    uow.conn.execute(update(renewals).where(renewals.c.bucket_id == row.bucket_id).values(
        state="retry", next_attempt_at=uow.now + timedelta(minutes=10), lease_until=None,
        last_error=f"{PENDING}: {error}"[:300], updated_at=uow.now))
    return Outcome(int(row.bucket_id), "retry", row.order_id, error)


def _failed(uow: UnitOfWork, row: Any, stop: _Stop) -> Outcome:
    """Count a failed attempt: retry after the next delay, or give up; tell the customer."""
    delays = uow.settings.renewal_retry_minutes
    attempts = int(row.attempts) + (1 if stop.count else 0)
    retry = stop.retry and attempts <= len(delays)
    wait = timedelta(minutes=delays[attempts - 1] if stop.count else 60) if retry else None
    uow.conn.execute(update(renewals).where(renewals.c.bucket_id == row.bucket_id).values(
        state="retry" if retry else "given_up", attempts=attempts, lease_until=None,
        next_attempt_at=uow.now + wait if wait else None,
        last_error=f"{stop.reason}: {stop.detail}"[:300],
        updated_at=uow.now))
    if stop.tell and stop.count:
        plan = catalog.get_plan(uow, int(row.plan_id))
        notify_line(uow, int(row.line_id), "renewal_failed" if retry else "renewal_given_up",
                    {"plan_en": plan.name_en, "plan_zh": plan.name_zh, "reason": stop.detail,
                     "reason_code": stop.reason,
                     "next_attempt_at": (uow.now + wait).isoformat() if wait else None})
    return Outcome(int(row.bucket_id), "retry" if retry else "given_up", None, stop.detail)


class _Stop(TopupError):
    """An attempt that cannot go on: whether to retry it, count it, and tell the customer;
    ``reason`` is its code in ``REASONS`` (the message says it in the reader's language)."""

    code = "renewal_not_possible"
    status = 409
    title = "The plan could not be renewed"

    def __init__(self, detail: str, *, retry: bool = True, count: bool = True,
                 tell: bool = True, reason: str = "refused") -> None:
        super().__init__(detail)
        self.retry, self.count, self.tell, self.reason = retry, count, tell, reason
