"""Saving, listing, removing and charging a user's saved payment methods.

Provider calls happen outside database transactions; each write is its own short unit. A
charge with a saved method settles through ``payments.settlement.settle`` exactly as a
webhook would, so the ledger path is the normal one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from topup.db.uow import Database, UnitOfWork
from topup.errors import Conflict, NotFound
from topup.orders.model import Order
from topup.orders.service import get_order
from topup.payments.interfaces import PaymentProvider, PaymentRequest
from topup.payments.saved import records
from topup.payments.saved.interfaces import SavesMethods, SetupStart
from topup.payments.saved.tables import saved_payment_methods as spm
from topup.payments.settlement import settle


class MethodNotFound(NotFound):
    """No live saved method of that id belongs to this user."""

    code = "payment_method_not_found"
    title = "Payment method not found"


class MethodNotUsable(Conflict):
    """The order cannot be paid with a saved method (state, provider or owner)."""

    code = "payment_method_not_usable"
    title = "Payment method cannot pay this order"


@dataclass(frozen=True)
class StoredMethod:
    """A saved method as its owner sees it: never more of the card than brand and last 4."""

    id: int
    user_id: int
    provider: str
    brand: str | None
    last4: str | None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> StoredMethod:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def _live(uow: UnitOfWork, user_id: int, method_id: int) -> Any:
    row = uow.conn.execute(select(spm).where(
        spm.c.id == method_id, spm.c.user_id == user_id, spm.c.revoked_at.is_(None))).first()
    if row is None:
        raise MethodNotFound("no such saved payment method")
    return row


def begin_setup(db: Database, saver: SavesMethods, user_id: int) -> SetupStart:
    """Start saving a method, reusing the customer the provider already has for this user."""
    with db.unit(readonly=True) as uow:
        customer = records.customer_of(uow, user_id, saver.name)
    return saver.begin_saving(str(user_id), customer)


def save_method(db: Database, provider_name: str, saver: SavesMethods, user_id: int,
                setup_ref: str) -> StoredMethod:
    """Record the method a completed setup saved; only its own user may record it."""
    saved = saver.finish_saving(setup_ref)
    if saved.user_ref != str(user_id):
        raise MethodNotFound("no such setup for this user")

    def work(uow: UnitOfWork) -> StoredMethod:  # the provider answered already: writes only
        row = records.find(uow, provider_name, saved.method_ref)
        if row is not None:
            if row.user_id != user_id or row.revoked_at is not None:
                raise MethodNotUsable("this payment method was already saved and removed")
            return StoredMethod.of(row)
        return StoredMethod.of(records.add(uow, user_id, provider_name, saved.customer_ref,
                                           saved.method_ref, saved.brand, saved.last4))

    return db.transact(work, what="saved method")


def list_methods(uow: UnitOfWork, user_id: int) -> list[StoredMethod]:
    """The user's live saved methods, oldest first."""
    rows = uow.conn.execute(select(spm).where(
        spm.c.user_id == user_id, spm.c.revoked_at.is_(None)).order_by(spm.c.id))
    return [StoredMethod.of(r) for r in rows]


def remove_method(db: Database, saver: SavesMethods, user_id: int, method_id: int) -> None:
    """Detach the method at the provider, then mark it revoked; it is never charged again."""
    with db.unit(readonly=True) as uow:
        row = _live(uow, user_id, method_id)
    saver.detach(str(row.method_ref))

    def revoke(uow: UnitOfWork) -> None:
        uow.conn.execute(update(spm).where(spm.c.id == method_id, spm.c.revoked_at.is_(None))
                         .values(revoked_at=uow.now))

    db.transact(revoke, what="saved method removal")


def pay_with_saved(db: Database, saver: SavesMethods, provider: PaymentProvider, order: Order,
                   method_id: int) -> Order:
    """Charge the order's own payment off-session with a saved method, then settle it.

    The order must await payment through ``provider`` and the method must belong to the
    order's customer. A decline fails the order; nothing is credited.
    """
    with db.unit(readonly=True) as uow:
        current = get_order(uow, order.id)
        row = _live(uow, current.customer_id or 0, method_id)
    prefix = f"{provider.name}:"
    ref = current.payment_ref or ""
    if (current.state != "awaiting_payment" or not ref.startswith(prefix)
            or row.provider != provider.name or saver.name != provider.name):
        raise MethodNotUsable(f"order {order.id} cannot be paid with this method now")
    total = current.total
    status = saver.charge_saved(
        PaymentRequest(current.id, total.amount, total.currency, f"Order {current.id}",
                       f"order-{current.id}-saved"),
        str(row.customer_ref), str(row.method_ref), intent_ref=ref[len(prefix):])
    return settle(db, provider, ref, status, "saved")
