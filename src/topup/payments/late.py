"""What happens to money that arrives for an order already given up (expired, failed,
cancelled): it is always credited to the line's wallet first, so it is never lost; with
``TOPUP_LATE_PAYMENT_POLICY=refund`` it is then sent back through its provider."""

from __future__ import annotations

import logging

from topup.db.uow import Database
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.orders.model import Order
from topup.orders.refunds import refund_order
from topup.orders.service import late_payment_key
from topup.payments.interfaces import PaymentProvider

log = logging.getLogger("topup.payments")


def apply_policy(db: Database, provider: PaymentProvider, order: Order) -> None:
    """Refund a late payment when the operator chose to; a refusal leaves it in the wallet."""
    if db.settings.late_payment_policy != "refund":
        return
    with db.unit(readonly=True) as uow:
        late = ledger.find_transfer(uow, late_payment_key(order.id))
    if late is None:
        return
    try:
        refund_order(db, provider, order.id, key=f"late-payment:{order.id}",
                     reason="payment arrived after the order was closed", actor_id=None)
    except TopupError as exc:  # it stays in the wallet; finance sees the failed refund
        log.error("late payment for order %s not refunded: %s", order.id, exc)
