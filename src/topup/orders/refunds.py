"""Refunds of top-ups paid through a provider: reserved in the ledger, paid back by the
provider, then posted — or released if the provider refuses.

Only money still in the wallet can go back: value already used (plans bought, usage charged)
is not refundable. Each refund is keyed by the caller's idempotency key: a retry returns the
first refund and never pays twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from topup.audit.service import record as audit
from topup.db.uow import Database, UnitOfWork
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.orders.errors import OrderError
from topup.orders.service import Order, _move, get_order, late_payment_key
from topup.orders.tables import refunds
from topup.payments.errors import PaymentError, RefundFailed
from topup.payments.interfaces import PaymentProvider

# A refund in flight holds the wallet money this long before the sweep may release it.
IN_FLIGHT = timedelta(days=7)


class NotRefundable(OrderError):
    """Raised when an order cannot be refunded, or not for that amount."""

    code = "not_refundable"
    status = 422
    title = "This order cannot be refunded for that amount"


@dataclass(frozen=True)
class RefundView:
    """A refund and where it stands."""

    id: int
    order_id: int
    amount: int
    currency: str
    state: str
    reason: str
    provider_refund_ref: str | None
    failure: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> RefundView:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def _refund_base(uow: UnitOfWork, order: Order) -> int:
    if order.method in ("wallet", "manual") or order.credit_currency:
        return 0  # converted top-ups are refunded by finance by hand
    if ledger.find_transfer(uow, late_payment_key(order.id)) is not None:
        return order.total.amount  # paid after we gave up: all of it may go back
    if order.kind == "topup" and order.state in ("fulfilled", "paid"):
        return order.amount  # the fee stays earned
    return 0


def refundable(uow: UnitOfWork, order: Order) -> int:
    """Minor units of ``order`` that may still go back to the payer."""
    base = _refund_base(uow, order)
    if base == 0:
        return 0
    taken = uow.conn.execute(select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
        refunds.c.order_id == order.id, refunds.c.state != "failed")).scalar_one()
    available = ledger.wallets(uow, order.line_id).get(order.currency)
    return max(0, min(base - int(taken), available.available if available else 0))


def _existing(uow: UnitOfWork, key: str) -> RefundView | None:
    row = uow.conn.execute(select(refunds).where(refunds.c.idempotency_key == key)).first()
    return RefundView.of(row) if row else None


def _reserve(uow: UnitOfWork, order: Order, amount: int | None, key: str, reason: str,
             actor_id: int | None) -> RefundView:
    left = refundable(uow, order)
    amount = left if amount is None else amount
    if amount <= 0 or amount > left:
        raise NotRefundable(f"refundable now: {left} minor units of {order.currency}",
                            refundable=left)
    rid = int(uow.conn.execute(insert(refunds).values(
        order_id=order.id, idempotency_key=key, amount=amount, currency=order.currency,
        state="pending", reason=reason, actor_id=actor_id, created_at=uow.now,
        updated_at=uow.now).returning(refunds.c.id)).scalar_one())
    mu = ledger.money_unit(order.currency)
    source = (order.payment_ref or "").split(":", 1)[0]
    hold = ledger.transfer(
        uow, f"refund:{rid}:hold", ledger.wallet(uow, order.line_id, order.currency),
        ledger.operator_account(uow, f"clearing:{source}", mu, line_id=order.line_id), amount,
        code="refund", ref=f"order:{order.id}", pending=True, timeout=IN_FLIGHT)
    uow.conn.execute(update(refunds).where(refunds.c.id == rid).values(
        pending_transfer_id=hold.id))
    audit(uow, actor_id, "order.refund", f"order:{order.id}", reason=reason, amount=amount)
    return _view(uow, rid)


def _finish(uow: UnitOfWork, rid: int, ok: bool, ref: str | None, failure: str | None) -> None:
    row = uow.conn.execute(select(refunds).where(refunds.c.id == rid)).one()
    if ok:
        ledger.post_pending(uow, f"refund:{rid}:post", int(row.pending_transfer_id))
    else:
        ledger.void_pending(uow, f"refund:{rid}:void", int(row.pending_transfer_id))
    uow.conn.execute(update(refunds).where(refunds.c.id == rid).values(
        state="succeeded" if ok else "failed", provider_refund_ref=ref, failure=failure,
        updated_at=uow.now))
    order = get_order(uow, int(row.order_id))
    if (ok and order.state in ("paid", "fulfilled") and refundable(uow, order) == 0
            and _all_refunded(uow, order)):
        _move(uow, order, "refunded", "refunded in full")


def _all_refunded(uow: UnitOfWork, order: Order) -> bool:
    done = uow.conn.execute(select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
        refunds.c.order_id == order.id, refunds.c.state == "succeeded")).scalar_one()
    return int(done) >= order.amount


def _view(uow: UnitOfWork, rid: int) -> RefundView:
    return RefundView.of(uow.conn.execute(select(refunds).where(refunds.c.id == rid)).one())


def _open(uow: UnitOfWork, order: Order, amount: int | None, key: str, reason: str,
          actor_id: int | None) -> tuple[RefundView, bool]:
    """The refund under ``key``: the earlier one (True), or a new reservation (False)."""
    if not reason.strip():
        raise InvalidInput("a refund needs a reason", field="reason")
    found = _existing(uow, key)
    if found is not None:
        return found, True
    return _reserve(uow, order, amount, key, reason.strip(), actor_id), False


def refund_order(db: Database, provider: PaymentProvider, order_id: int, *, key: str,
                 reason: str, actor_id: int | None, amount: int | None = None) -> RefundView:
    """Refund all that is refundable (``amount=None``) or part of a provider-paid top-up.

    The wallet money is reserved first (so it cannot be spent meanwhile), the provider pays
    back outside any transaction, and the reservation is then posted or released.
    """
    with db.unit() as uow:
        order = get_order(uow, order_id)
        view, earlier = _open(uow, order, amount, key, reason, actor_id)
    if earlier:
        return view
    try:
        done = provider.refund((order.payment_ref or "").split(":", 1)[1], view.amount,
                               view.currency, key)
    except PaymentError as exc:
        with db.unit() as uow:
            _finish(uow, view.id, False, None, str(exc)[:300])
        raise RefundFailed(str(exc)) from exc
    with db.unit() as uow:
        _finish(uow, view.id, True, done.refund_ref, None)
        return _view(uow, view.id)


def record_paid_out(db: Database, order_id: int, *, key: str, reason: str,
                    actor_id: int, amount: int | None = None) -> RefundView:
    """Record a refund that finance paid by hand (a bank transfer back to the payer): the
    value leaves the wallet for the provider's clearing account exactly as a provider refund
    would, so the books match the bank account. Same limits and idempotency as ``refund_order``.
    """
    with db.unit() as uow:
        view, earlier = _open(uow, get_order(uow, order_id), amount, key, reason, actor_id)
        if earlier:
            return view
        _finish(uow, view.id, True, f"paid-out-by:{actor_id}", None)
        return _view(uow, view.id)


def order_refunds(uow: UnitOfWork, order_id: int) -> list[RefundView]:
    """Every refund of an order, oldest first."""
    rows = uow.conn.execute(select(refunds).where(refunds.c.order_id == order_id)
                            .order_by(refunds.c.id))
    return [RefundView.of(r) for r in rows]
