"""Refunds of orders paid through a provider: reserved in the ledger, paid back by the
provider, then posted — or released if the provider refuses.

What may go back (the operator's rule, in one place — ``_refund_base``):

- a top-up: its amount, as far as the money is still in the wallet (value already spent on
  plans or usage is not refundable; the fee stays earned);
- a plan: its price, only while the bucket is untouched — nothing used, not expired. The
  plan is taken back first (allowances to supply, the price from deferred revenue back to
  the wallet), then refunded like a top-up. Should the provider refuse, the plan stays
  cancelled and its price stays in the wallet for the traveller to use or to refund again;
- a top-up converted into another currency: in the paid currency, at the rate fixed on the
  order, as far as the converted money is still in the wallet;
- a payment that came after its order gave up: all of it, fee included.

Each refund is keyed by the caller's idempotency key: a retry returns the first refund and
never pays twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import func, insert, select, update

from topup.audit.service import record as audit
from topup.charging import buckets
from topup.db.uow import Database, UnitOfWork
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.ledger.accounts import DEFERRED_REVENUE, FX, clearing_kind
from topup.orders.errors import OrderError
from topup.orders.model import Order, move_order
from topup.orders.service import get_order, late_payment_key
from topup.orders.tables import refunds
from topup.payments.errors import PaymentError, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import PaymentProvider
from topup.promotions import books as promo_books

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
    wallet_amount: int | None  # taken from a wallet in another currency (converted top-ups)
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> RefundView:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def _refund_base(uow: UnitOfWork, order: Order) -> int:
    """Minor units of the paid currency that the operator's rule allows back at most."""
    if order.method in ("wallet", "manual") or not order.payment_ref:
        return 0  # no payer outside topup to pay back
    if ledger.find_transfer(uow, late_payment_key(order.id)) is not None:
        return order.total.amount  # paid after we gave up: all of it may go back
    if order.state not in ("fulfilled", "paid"):
        return 0
    if order.kind == "plan" and not _plan_returnable(uow, order):
        return 0
    return order.amount  # the fee stays earned


def _plan_returnable(uow: UnitOfWork, order: Order) -> bool:
    if order.bucket_id is None:
        return False
    return (buckets.taken_back(uow, order.bucket_id)
            or buckets.untouched(uow, order.bucket_id))


def _converted(uow: UnitOfWork, order: Order) -> tuple[str, int] | None:
    """(wallet currency, units credited) when the payment was converted into the wallet's
    currency; a late payment is credited as paid, so it never was."""
    if not (order.credit_currency and order.credit_amount):
        return None
    if ledger.find_transfer(uow, late_payment_key(order.id)) is not None:
        return None
    return order.credit_currency, order.credit_amount


def _wallet_available(uow: UnitOfWork, order: Order, conv: tuple[str, int] | None) -> int:
    """What the wallet the order credited can give now, in that wallet's currency."""
    balance = ledger.wallets(uow, order.line_id).get(conv[0] if conv else order.currency)
    available = balance.available if balance else 0
    if order.kind == "plan" and order.bucket_id is not None and buckets.untouched(
            uow, order.bucket_id):
        available += order.amount  # taking the plan back returns its price first
    return available


def _cost(order: Order, conv: tuple[str, int], paid_back: int) -> int:
    """Wallet units that paying ``paid_back`` (in all) back costs a converted top-up, at the
    order's rate, rounded up; cumulative, so refunding everything costs exactly the credit."""
    return -(-paid_back * conv[1] // order.amount)


def _taken(uow: UnitOfWork, order: Order) -> int:
    return int(uow.conn.execute(select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
        refunds.c.order_id == order.id, refunds.c.state != "failed")).scalar_one())


def refundable(uow: UnitOfWork, order: Order) -> int:
    """Minor units of ``order`` (its paid currency) that may still go back to the payer."""
    base = _refund_base(uow, order)
    if base == 0:
        return 0
    taken = _taken(uow, order)
    conv = _converted(uow, order)
    room = _wallet_available(uow, order, conv)
    if conv is not None:  # the most paid back in all whose cost the wallet still covers
        room = (room + _cost(order, conv, taken)) * order.amount // conv[1] - taken
    return max(0, min(base - taken, room))


def _wallet_side(uow: UnitOfWork, order: Order, amount: int) -> tuple[str, int | None]:
    """The wallet's currency and, for a converted top-up, what paying ``amount`` back
    costs it (see ``_cost``)."""
    conv = _converted(uow, order)
    if conv is None:
        return order.currency, None
    taken = _taken(uow, order)
    cost = _cost(order, conv, taken + amount) - _cost(order, conv, taken)
    if cost <= 0:
        raise NotRefundable("the amount is too small to convert back", refundable=0)
    return conv[0], cost


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
    wallet_currency, wallet_amount = _wallet_side(uow, order, amount)
    rid = int(uow.conn.execute(insert(refunds).values(
        order_id=order.id, idempotency_key=key, amount=amount, currency=order.currency,
        wallet_amount=wallet_amount, state="pending", reason=reason, actor_id=actor_id,
        created_at=uow.now, updated_at=uow.now).returning(refunds.c.id)).scalar_one())
    if order.kind == "plan":
        _take_plan_back(uow, order, rid)
    # A converted top-up's wallet money goes back through the FX position it came from.
    towards = FX if wallet_amount else clearing_kind(_source(order))
    hold = ledger.transfer(
        uow, f"refund:{rid}:hold", ledger.wallet(uow, order.line_id, wallet_currency),
        ledger.operator_account(uow, towards, ledger.money_unit(wallet_currency),
                                line_id=order.line_id),
        wallet_amount or amount, code="refund", ref=f"order:{order.id}", pending=True,
        timeout=IN_FLIGHT)
    uow.conn.execute(update(refunds).where(refunds.c.id == rid).values(
        pending_transfer_id=hold.id))
    audit(uow, actor_id, "order.refund", f"order:{order.id}", reason=reason, amount=amount)
    return _view(uow, rid)


def _source(order: Order) -> str:
    return (order.payment_ref or "").split(":", 1)[0]


def _take_plan_back(uow: UnitOfWork, order: Order, rid: int) -> None:
    """Un-issue the plan's allowances and return its price from deferred revenue to the
    wallet (once per order, whichever refund gets here first)."""
    assert order.bucket_id is not None
    if not buckets.take_back(uow, order.bucket_id, f"order:{order.id}:take-back"):
        raise NotRefundable("the plan was used or has ended; it cannot be refunded",
                            refundable=0)
    mu = ledger.money_unit(order.currency)
    ledger.transfer(
        uow, f"order:{order.id}:unbuy",
        ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=order.line_id),
        ledger.wallet(uow, order.line_id, order.currency), order.amount,
        code="plan_refund", ref=f"order:{order.id}:refund:{rid}")
    promo_books.take_back_plan(uow, order)


def _finish(uow: UnitOfWork, rid: int, ok: bool, ref: str | None, failure: str | None) -> None:
    row = uow.conn.execute(select(refunds).where(refunds.c.id == rid)).one()
    order = get_order(uow, int(row.order_id))
    if ok:
        ledger.post_pending(uow, f"refund:{rid}:post", int(row.pending_transfer_id))
        if row.wallet_amount:
            mu = ledger.money_unit(order.currency)
            ledger.transfer(
                uow, f"refund:{rid}:fx-out",
                ledger.operator_account(uow, FX, mu, line_id=order.line_id),
                ledger.operator_account(uow, clearing_kind(_source(order)), mu,
                                        line_id=order.line_id),
                int(row.amount), code="refund", ref=f"order:{order.id}")
    else:
        ledger.void_pending(uow, f"refund:{rid}:void", int(row.pending_transfer_id))
    uow.conn.execute(update(refunds).where(refunds.c.id == rid).values(
        state="succeeded" if ok else "failed", provider_refund_ref=ref, failure=failure,
        updated_at=uow.now))
    if (ok and order.state in ("paid", "fulfilled") and refundable(uow, order) == 0
            and _all_refunded(uow, order)):
        move_order(uow, order, "refunded", "refunded in full")
        if order.kind == "topup":
            promo_books.take_back_topup(uow, order)


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
    # Every unit here writes to the database only (the provider is called between them, with
    # ``key`` as its idempotency key): each is run again after a conflict.
    def reserve(uow: UnitOfWork) -> tuple[Order, RefundView, bool]:
        order = get_order(uow, order_id)
        return (order, *_open(uow, order, amount, key, reason, actor_id))

    order, view, earlier = db.transact(reserve, what="refund reservation")
    if earlier:
        return view
    try:
        done = provider.refund((order.payment_ref or "").split(":", 1)[1], view.amount,
                               view.currency, key)
    except PaymentError as exc:
        error = str(exc)[:300]
        db.transact(lambda uow: _finish(uow, view.id, False, None, error),
                    what="refund outcome")
        if isinstance(exc, ProviderUnavailable):  # its text may name hosts: kept for staff
            raise RefundFailed("the payment provider could not be reached; the refund was "
                               "not made and the money stays in the wallet") from exc
        raise RefundFailed(str(exc)) from exc

    def paid_back(uow: UnitOfWork) -> RefundView:
        _finish(uow, view.id, True, done.refund_ref, None)
        return _view(uow, view.id)

    return db.transact(paid_back, what="refund outcome")


def record_paid_out(db: Database, order_id: int, *, key: str, reason: str,
                    actor_id: int, amount: int | None = None) -> RefundView:
    """Record a refund that finance paid by hand (a bank transfer back to the payer): the
    value leaves the wallet for the provider's clearing account exactly as a provider refund
    would, so the books match the bank account. Same limits and idempotency as ``refund_order``.
    """
    return db.transact(partial(_paid_out, order_id, amount, key, reason, actor_id),
                       what="refund paid out")


def _paid_out(order_id: int, amount: int | None, key: str, reason: str, actor_id: int,
              uow: UnitOfWork) -> RefundView:
    view, earlier = _open(uow, get_order(uow, order_id), amount, key, reason, actor_id)
    if earlier:
        return view
    _finish(uow, view.id, True, f"paid-out-by:{actor_id}", None)
    return _view(uow, view.id)


def return_plan_to_wallet(db: Database, order_id: int, *, key: str, reason: str,
                          actor_id: int | None) -> RefundView:
    """Cancel an untouched plan bought from the wallet: its allowances go back to supply and
    its price back to the wallet (the fee, if any, stays earned). Nothing leaves topup; the
    money may then be spent again or refunded with the top-up that brought it in."""
    return db.transact(partial(_to_wallet, order_id, key, reason, actor_id),
                       what="plan back to the wallet")


def _to_wallet(order_id: int, key: str, reason: str, actor_id: int | None,
               uow: UnitOfWork) -> RefundView:
    if not reason.strip():
        raise InvalidInput("a refund needs a reason", field="reason")
    found = _existing(uow, key)
    if found is not None:
        return found
    order = get_order(uow, order_id)
    if not (order.method == "wallet" and order.kind == "plan"
            and order.state == "fulfilled" and order.bucket_id is not None
            and buckets.untouched(uow, order.bucket_id)):
        raise NotRefundable("only an untouched plan bought from the wallet goes back to "
                            "the wallet", refundable=0)
    rid = int(uow.conn.execute(insert(refunds).values(
        order_id=order.id, idempotency_key=key, amount=order.amount,
        currency=order.currency, state="succeeded", reason=reason.strip(),
        actor_id=actor_id, provider_refund_ref="wallet", created_at=uow.now,
        updated_at=uow.now).returning(refunds.c.id)).scalar_one())
    _take_plan_back(uow, order, rid)
    move_order(uow, order, "refunded", "plan returned to the wallet")
    audit(uow, actor_id, "order.refund", f"order:{order.id}", reason=reason.strip(),
          amount=order.amount, to="wallet")
    return _view(uow, rid)


def order_refunds(uow: UnitOfWork, order_id: int) -> list[RefundView]:
    """Every refund of an order, oldest first."""
    rows = uow.conn.execute(select(refunds).where(refunds.c.order_id == order_id)
                            .order_by(refunds.c.id))
    return [RefundView.of(r) for r in rows]


def recent_refunds(uow: UnitOfWork, limit: int = 50) -> list[RefundView]:
    """The latest refunds across every order, newest first (the console's refunds page)."""
    rows = uow.conn.execute(select(refunds).order_by(refunds.c.id.desc()).limit(limit))
    return [RefundView.of(r) for r in rows]
