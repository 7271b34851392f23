"""The one way a provider's report of a payment reaches an order, whatever brought it.

Every source goes through here: a notification (``webhook``), a status query by the
reconciliation pass (``query``), a charge of a saved method (``saved``), a bank statement
entry or finance's credit of one (``bank``), and the payer's return page or the portal's
order page asking the provider (``return``). So each applies the same rules:

- the paid amount and currency must be the order's total (else ``PaymentMismatch``);
- exactly once: the order row is locked and every ledger transfer is keyed by the order, so
  a report that comes again, late or out of order moves nothing twice;
- a card the provider kept because the payer asked (``status.kept``) becomes a saved
  payment method of the order's customer, once, for auto-renew and automatic top-up;
- money for an order already given up (expired, failed, cancelled) is credited to the line's
  wallet, never lost, and then the late-payment policy applies
  (``TOPUP_LATE_PAYMENT_POLICY``: ``credit`` keeps it there, ``refund`` sends it back
  through its provider; a provider that cannot refund leaves it in the wallet, with the
  failed refund on record for finance).
"""

from __future__ import annotations

import logging

from topup.db.uow import Database, UnitOfWork
from topup.orders.model import Order
from topup.orders.service import settle_payment
from topup.payments.interfaces import PaymentProvider, PaymentStatus
from topup.payments.late import apply_policy
from topup.payments.saved.records import keep

log = logging.getLogger("topup.payments")
SOURCES = frozenset({"webhook", "query", "saved", "bank", "return"})


def settle_in(uow: UnitOfWork, payment_ref: str, status: PaymentStatus, source: str) -> Order:
    """Apply ``status`` to the order paid under ``payment_ref`` (``<provider>:<ref>``) in the
    caller's unit of work; call ``after_commit`` once that unit of work has committed."""
    if source not in SOURCES:
        raise ValueError(f"unknown settlement source {source!r}")
    order = settle_payment(uow, payment_ref, status)
    if status.kept is not None and status.state == "succeeded":
        # under the order's row lock: two reports of one payment record the card once
        keep(uow, order.customer_id, status.kept)
    log.info("order %s is %s after a %s report from %s", order.id, order.state, status.state,
             source)
    return order


def after_commit(db: Database, provider: PaymentProvider, order: Order) -> Order:
    """The late-payment policy, outside any transaction (a refund calls the provider)."""
    apply_policy(db, provider, order)
    return order


def settle(db: Database, provider: PaymentProvider, payment_ref: str, status: PaymentStatus,
           source: str) -> Order:
    """``settle_in`` in a unit of work of its own (the provider's report is in hand: database
    work only, run again after a conflict), then ``after_commit``."""
    order = db.transact(lambda uow: settle_in(uow, payment_ref, status, source),
                        what=f"settle ({source})")
    return after_commit(db, provider, order)
