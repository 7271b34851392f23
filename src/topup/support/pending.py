"""A payment still pending after 30 minutes opens a ticket by itself.

Every guide tells travellers "if the money has not arrived within 30 minutes, contact
customer service": the platform does it for them. The sweep (``jobs.schedule``, after
payment reconciliation, so a payment that did arrive is settled first) opens one ticket per
order still ``awaiting_payment`` half an hour after it was made, with a system message, and
publishes ``PaymentLate`` so the traveller hears that someone is looking at it (orders older
than ``LOOK_BACK`` are an old backlog, not a traveller waiting now: left alone). The ticket's
``auto_key`` (``pending:<order id>``) is unique: the sweep may run any number of times, on
any number of workers, and an order gets one ticket.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import and_, select

from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.orders.tables import orders
from topup.subscribers.tables import lines, users
from topup.support.events import PaymentLate
from topup.support.tables import ticket_messages, tickets

PENDING_AFTER = timedelta(minutes=30)
# Orders waiting longer than this are left alone: the sweep must not flood travellers and the
# queue with tickets for an old backlog (the first run on an existing database, a long outage).
LOOK_BACK = timedelta(days=2)
BATCH = 200


def auto_key(order_id: int) -> str:
    return f"pending:{order_id}"


def late_orders(uow: UnitOfWork, limit: int = BATCH) -> list[int]:
    """Orders waiting for their payment for longer than PENDING_AFTER with no ticket yet."""
    query = (select(orders.c.id)
             .select_from(orders.outerjoin(tickets, and_(tickets.c.order_id == orders.c.id,
                                                         tickets.c.source == "auto")))
             .where(orders.c.state == "awaiting_payment",
                    orders.c.created_at <= uow.now - PENDING_AFTER,
                    orders.c.created_at > uow.now - LOOK_BACK, tickets.c.id.is_(None))
             .order_by(orders.c.id).limit(limit))
    return [int(i) for i in uow.conn.execute(query).scalars()]


def open_for_order(uow: UnitOfWork, order_id: int) -> int | None:
    """Open the order's ticket (None when it has one already)."""
    row = uow.conn.execute(
        select(orders.c.line_id, orders.c.customer_id, lines.c.customer_id.label("holder"),
               users.c.language)
        .select_from(orders.join(lines, lines.c.id == orders.c.line_id)
                     .outerjoin(users, users.c.id == lines.c.customer_id))
        .where(orders.c.id == order_id)).one()
    default = uow.settings.default_language
    made = uow.conn.execute(insert_ignore(uow, tickets, {
        "customer_id": row.holder or row.customer_id, "line_id": row.line_id,
        "order_id": order_id, "subject": f"Payment for order #{order_id} not received yet",
        "state": "open", "source": "auto", "language": row.language or default,
        "auto_key": auto_key(order_id), "created_at": uow.now, "updated_at": uow.now,
    }, ["auto_key"]).returning(tickets.c.id)).first()
    if made is None:
        return None
    ticket_id = int(made[0])
    uow.conn.execute(ticket_messages.insert().values(
        ticket_id=ticket_id, author_id=None, kind="system", via="system",
        body="payment_pending", created_at=uow.now))
    uow.publish(PaymentLate(ticket_id, order_id))
    return ticket_id


def open_for_late_payments(db: Database) -> int:
    """The sweep: a ticket for every late payment, a batch per unit of work; how many."""
    opened = 0
    while True:
        due, made = db.transact(_open_some, what="late payments")
        opened += made
        if len(due) < BATCH:
            return opened


def _open_some(uow: UnitOfWork) -> tuple[list[int], int]:
    """One batch of ``open_for_late_payments``: the orders looked at, the tickets opened."""
    due = late_orders(uow)
    return due, sum(open_for_order(uow, order_id) is not None for order_id in due)
