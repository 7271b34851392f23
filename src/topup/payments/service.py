"""Payment services: settling orders from status queries when notifications are late."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from topup.config import Settings
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.orders.model import Order
from topup.orders.service import awaiting_payment, expire_unpaid
from topup.payments.errors import PaymentError
from topup.payments.interfaces import PaymentProvider
from topup.payments.settlement import settle

log = logging.getLogger("topup.payments")


@dataclass(frozen=True)
class ReconcileResult:
    """What one reconciliation pass saw and did."""

    checked: int
    settled: int
    failed: int
    errors: int
    expired: int = 0


def payment_ttl(settings: Settings, provider: str) -> timedelta:
    """How long an order may wait for its payment (bank transfers take days)."""
    if provider == "bank":
        return timedelta(days=settings.bank_payment_ttl_days)
    return timedelta(minutes=settings.payment_ttl_minutes)


def reconcile(db: Database, providers: dict[str, PaymentProvider], *,
              older_than: timedelta = timedelta(minutes=3), limit: int = 500) -> ReconcileResult:
    """Query the provider of every order still awaiting payment after ``older_than``.

    Each order is settled in its own unit of work; a provider error is logged and counted,
    and the next pass tries again.
    """
    with db.unit(readonly=True) as uow:
        waiting = awaiting_payment(uow, uow.now - older_than, limit)
    settled = failed = errors = expired = 0
    for order in waiting:
        name, _, ref = (order.payment_ref or "").partition(":")
        provider = providers.get(name)
        if provider is None:
            continue
        try:
            status = provider.query(ref)
        except PaymentError as exc:
            log.warning("query of %s for order %s failed: %s", name, order.id, exc)
            errors += 1
            continue
        try:
            after = settle(db, provider, order.payment_ref or "", status, "query")
        except TopupError as exc:  # e.g. a mismatched amount: finance looks at it
            log.error("order %s could not be settled from %s: %s", order.id, name, exc)
            errors += 1
            continue
        settled += after.state == "fulfilled"
        failed += after.state == "failed"
        if after.state == "awaiting_payment" and _overdue(db, order, name):
            done = db.transact(partial(_expire, order.id), what="reconcile expiry")
            expired += done.state == "expired"
    return ReconcileResult(len(waiting), settled, failed, errors, expired)


def _expire(order_id: int, uow: UnitOfWork) -> Order:
    return expire_unpaid(uow, order_id)


def _overdue(db: Database, order: Order, provider: str) -> bool:
    return order.created_at + payment_ttl(db.settings, provider) <= db.clock()
