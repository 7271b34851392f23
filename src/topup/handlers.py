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
from topup.esim import store
from topup.notifications.confirmations import order_fulfilled
from topup.orders.autotopup import on_fulfilled as auto_topup_landed
from topup.orders.model import OrderClosed, OrderFulfilled, PaymentSettled
from topup.promotions import books as promo_books
from topup.receipts.service import issue_receipt
from topup.support import notices as support_notices
from topup.support.events import PaymentLate, StaffReplied


def issue_payment_receipt(uow: UnitOfWork, event: PaymentSettled) -> None:
    """A payment through a provider gets its receipt in the same transaction."""
    issue_receipt(uow, event.order, event.method_detail)


def esim_order_fulfilled(uow: UnitOfWork, event: OrderFulfilled) -> None:
    """A paid store order assigns its eSIM profile and sends the activation code."""
    if event.order.channel == store.CHANNEL:
        store.on_fulfilled(uow, event.order)


def promotions_let_go(uow: UnitOfWork, event: OrderClosed) -> None:
    """An order given up gives its campaigns back what it held of them."""
    promo_books.release(uow, event.order.id)


def esim_order_closed(uow: UnitOfWork, event: OrderClosed) -> None:
    """An order given up lets go of an eSIM profile reserved for it."""
    if event.order.channel == store.CHANNEL:
        store.on_closed(uow, event.order)


register(OrderFulfilled, order_fulfilled)
register(OrderFulfilled, esim_order_fulfilled)
register(OrderClosed, esim_order_closed)
register(OrderClosed, promotions_let_go)
register(OrderFulfilled, auto_topup_landed)  # re-arms a line's auto top-up (orders/autotopup.py)
register(PaymentSettled, issue_payment_receipt)
register(StaffReplied, support_notices.staff_replied)  # the answer to the traveller
register(PaymentLate, support_notices.payment_late)  # "we are looking at your payment"
