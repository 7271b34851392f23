"""What happens because of a domain event: the one place handlers are registered.

Importing this module fills ``topup.db.events.HANDLERS``, the registry every ``Database``
uses unless given its own; ``topup.bootstrap`` imports it, so the app, the CLI and anything
that builds its database through the composition root see the same handlers. The handlers run
in the publishing unit of work, before COMMIT: a receipt or a queued confirmation exists if
and only if its order does. An event with no handler fails its unit (``UnhandledEvent``)
rather than being dropped.
"""

from __future__ import annotations

from topup.db.events import register
from topup.db.uow import UnitOfWork
from topup.notifications.confirmations import order_fulfilled
from topup.orders.autotopup import on_fulfilled as auto_topup_landed
from topup.orders.model import OrderFulfilled, PaymentSettled
from topup.receipts.service import issue_receipt


def issue_payment_receipt(uow: UnitOfWork, event: PaymentSettled) -> None:
    """A payment through a provider gets its receipt in the same transaction."""
    issue_receipt(uow, event.order, event.method_detail)


register(OrderFulfilled, order_fulfilled)
register(OrderFulfilled, auto_topup_landed)  # re-arms a line's auto top-up (orders/autotopup.py)
register(PaymentSettled, issue_payment_receipt)
