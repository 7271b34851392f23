"""What the traveller hears about their ticket: a staff answer (``ticket_reply``) and a
ticket the platform opened for a late payment (``ticket_payment_late``), by e-mail and SMS in
their language, as their preferences allow. Each e-mail's Reply-To is the ticket's keyed
address (``support.mailin``), so answering it adds to the ticket.

Handlers of ``support.events``, registered in ``topup.handlers``; they queue in the
publishing unit of work, so a message exists exactly when its answer or ticket does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from topup.db.uow import UnitOfWork
from topup.notifications.preferences import get_preferences
from topup.notifications.recipients import Recipients, recipients_of
from topup.notifications.rendering import LANGUAGES
from topup.notifications.service import enqueue
from topup.orders import service as orders
from topup.subscribers.tables import users
from topup.support import service
from topup.support.events import PaymentLate, StaffReplied
from topup.support.mailin import reply_address
from topup.support.service import Ticket


def _recipients(uow: UnitOfWork, ticket: Ticket) -> Recipients | None:
    """The line's recipients when the ticket is about a line, else its traveller's own."""
    if ticket.line_id is not None:
        return recipients_of(uow, ticket.line_id)
    if ticket.customer_id is None:
        return None
    row = uow.conn.execute(select(users.c.email, users.c.phone, users.c.language)
                           .where(users.c.id == ticket.customer_id)).one()
    prefs = get_preferences(uow, ticket.customer_id)
    language = row.language if row.language in LANGUAGES else "en"
    return Recipients(email=row.email if row.email and prefs.email else None,
                      sms=row.phone if row.phone and prefs.sms else None,
                      language=language, user_id=ticket.customer_id)


def _send(uow: UnitOfWork, ticket: Ticket, template: str, params: dict[str, Any]) -> None:
    to = _recipients(uow, ticket)
    if to is None:
        return
    params = {"ticket_id": ticket.id, "link": f"{uow.settings.public_url}/tickets/{ticket.id}",
              **params}
    if to.email:
        enqueue(uow, "email", to.email, template, to.language,
                params | {"reply_to": reply_address(uow.settings, ticket.id)},
                user_id=to.user_id)
    if to.sms:
        enqueue(uow, "sms", to.sms, template, to.language, params, user_id=to.user_id,
                quiet=True)


def staff_replied(uow: UnitOfWork, event: StaffReplied) -> None:
    """Send the traveller the staff answer (its text in the e-mail, a link in the SMS)."""
    ticket = service.get_ticket(uow, event.ticket_id)
    found = [m for m in service.messages(uow, ticket.id) if m.id == event.message_id]
    _send(uow, ticket, "ticket_reply", {"body": found[0].body, "subject": ticket.subject,
                                        "auto": ticket.source == "auto",
                                        "order_id": ticket.order_id})


def payment_late(uow: UnitOfWork, event: PaymentLate) -> None:
    """Tell the traveller their late payment is being looked at."""
    ticket = service.get_ticket(uow, event.ticket_id)
    order = orders.get_order(uow, event.order_id)
    _send(uow, ticket, "ticket_payment_late", {
        "order_id": order.id, "amount": order.amount + order.fee, "currency": order.currency,
        "payment_ref": order.payment_ref or ""})
