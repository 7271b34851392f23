"""Support tickets: a traveller opens one (from an order, a line, or in general) and writes
in it; staff answer, keep internal notes, assign, close and reopen.

States: ``open`` (staff's turn), ``waiting`` (the traveller's turn, after a staff answer),
``closed``. A traveller's message puts the ticket back to ``open`` (a closed one reopens: the
problem came back); a staff answer makes it ``waiting`` and stamps the first response. Notes
change nothing the traveller sees. Every function runs in the caller's unit of work.

A traveller reaches only their own tickets, and may only name their own orders and lines:
anything else is ``TicketNotFound`` / ``InvalidTicket``, as if it did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.errors import NotFound
from topup.orders import service as orders
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.support.errors import InvalidAssignee, InvalidTicket, TicketClosed, TicketNotFound
from topup.support.events import StaffReplied
from topup.support.tables import ticket_messages, tickets

SUBJECT_MAX = 200
BODY_MAX = 10_000
TAKERS = ("admin", "support")  # staff roles that work the queue (subscribers/staff.py)


@dataclass(frozen=True)
class Ticket:
    """One ticket as services hand it out."""

    id: int
    customer_id: int | None
    line_id: int | None
    order_id: int | None
    subject: str
    state: str
    source: str
    language: str
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Ticket:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Message:
    """One message of a ticket; ``kind`` ``note`` is for staff eyes only."""

    id: int
    ticket_id: int
    author_id: int | None
    kind: str
    via: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> Message:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def _text(value: str, limit: int, what: str) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    if not text:
        raise InvalidTicket(f"the {what} is empty", field=what)
    if len(text) > limit:
        raise InvalidTicket(f"the {what} is longer than {limit} characters", field=what)
    return text


def _about(uow: UnitOfWork, customer_id: int, order_id: int | None, line_id: int | None
           ) -> tuple[int | None, int | None]:
    """The order and line a traveller's ticket is about (the order's line when only the
    order is named); refused unless both are the traveller's."""
    try:
        if order_id is not None:
            order = orders.get_order(uow, order_id, owner=customer_id)
            if line_id is not None and line_id != order.line_id:
                raise InvalidTicket("the order is not on that line", field="line_id")
            line_id = order.line_id
        if line_id is not None:
            line_svc.get_line(uow, line_id, owner=customer_id)
    except NotFound as exc:
        raise InvalidTicket("no such order or line of yours", field="order_id") from exc
    return order_id, line_id


def open_ticket(uow: UnitOfWork, customer: auth.User, subject: str, body: str, *,
                order_id: int | None = None, line_id: int | None = None,
                via: str = "portal") -> Ticket:
    """A traveller's new ticket with its first message; returns it."""
    subject, body = _text(subject, SUBJECT_MAX, "subject"), _text(body, BODY_MAX, "body")
    order_id, line_id = _about(uow, customer.id, order_id, line_id)
    ticket_id = _insert(uow, customer_id=customer.id, line_id=line_id, order_id=order_id,
                        subject=subject, state="open", source=via,
                        language=customer.language)
    _add(uow, ticket_id, customer.id, "customer", via, body)
    return get_ticket(uow, ticket_id)


def _insert(uow: UnitOfWork, **values: Any) -> int:
    return int(uow.conn.execute(insert(tickets).values(
        created_at=uow.now, updated_at=uow.now, **values).returning(tickets.c.id)).scalar_one())


def _add(uow: UnitOfWork, ticket_id: int, author_id: int | None, kind: str, via: str,
         body: str, email_id: str | None = None) -> int:
    return int(uow.conn.execute(insert(ticket_messages).values(
        ticket_id=ticket_id, author_id=author_id, kind=kind, via=via, body=body,
        email_id=email_id, created_at=uow.now).returning(ticket_messages.c.id)).scalar_one())


def get_ticket(uow: UnitOfWork, ticket_id: int, *, owner: int | None = None) -> Ticket:
    """One ticket; with ``owner``, only if it is that traveller's (else TicketNotFound)."""
    query = select(tickets).where(tickets.c.id == ticket_id)
    if owner is not None:
        query = query.where(tickets.c.customer_id == owner)
    row = uow.conn.execute(query).first()
    if row is None:
        raise TicketNotFound(f"no ticket {ticket_id}")
    return Ticket.of(row)


def messages(uow: UnitOfWork, ticket_id: int, *, notes: bool = False) -> list[Message]:
    """A ticket's conversation, oldest first; internal notes only when ``notes``."""
    query = select(ticket_messages).where(ticket_messages.c.ticket_id == ticket_id)
    if not notes:
        query = query.where(ticket_messages.c.kind != "note")
    return [Message.of(r) for r in uow.conn.execute(query.order_by(ticket_messages.c.id))]


def tickets_of(uow: UnitOfWork, customer_id: int, limit: int = 100) -> list[Ticket]:
    """A traveller's tickets, newest first."""
    rows = uow.conn.execute(select(tickets).where(tickets.c.customer_id == customer_id)
                            .order_by(tickets.c.id.desc()).limit(limit))
    return [Ticket.of(r) for r in rows]


def _set(uow: UnitOfWork, ticket_id: int, **values: Any) -> None:
    uow.conn.execute(update(tickets).where(tickets.c.id == ticket_id)
                     .values(updated_at=uow.now, **values))


def customer_message(uow: UnitOfWork, ticket_id: int, customer_id: int, body: str, *,
                     via: str = "portal", email_id: str | None = None) -> Message:
    """The traveller writes in their ticket: it is staff's turn again (a closed ticket
    reopens)."""
    ticket = get_ticket(uow, ticket_id, owner=customer_id)
    message_id = _add(uow, ticket.id, customer_id, "customer", via,
                      _text(body, BODY_MAX, "body"), email_id)
    _set(uow, ticket.id, state="open", closed_at=None)
    return _message(uow, message_id)


def _message(uow: UnitOfWork, message_id: int) -> Message:
    return Message.of(uow.conn.execute(
        select(ticket_messages).where(ticket_messages.c.id == message_id)).one())


def reply(uow: UnitOfWork, ticket_id: int, staff_id: int, body: str) -> Message:
    """Staff answer the traveller (who hears it by e-mail and SMS: ``StaffReplied``)."""
    ticket = get_ticket(uow, ticket_id)
    if ticket.state == "closed":
        raise TicketClosed(f"ticket {ticket_id} is closed")
    message_id = _add(uow, ticket.id, staff_id, "staff", "console",
                      _text(body, BODY_MAX, "body"))
    _set(uow, ticket.id, state="waiting",
         first_response_at=ticket.first_response_at or uow.now,
         assignee_id=ticket.assignee_id or staff_id)
    uow.publish(StaffReplied(ticket.id, message_id))
    return _message(uow, message_id)


def note(uow: UnitOfWork, ticket_id: int, staff_id: int, body: str) -> Message:
    """An internal note: staff see it beside the conversation, the traveller never does."""
    ticket = get_ticket(uow, ticket_id)
    message_id = _add(uow, ticket.id, staff_id, "note", "console",
                      _text(body, BODY_MAX, "body"))
    _set(uow, ticket.id)
    return _message(uow, message_id)


def assign(uow: UnitOfWork, ticket_id: int, assignee_id: int | None, actor_id: int) -> Ticket:
    """Give the ticket to a support or admin login (None: back to the queue); audited."""
    ticket = get_ticket(uow, ticket_id)
    if assignee_id is not None:
        try:
            taker = auth.get_user(uow, assignee_id)
        except NotFound as exc:
            raise InvalidAssignee(f"no login {assignee_id}", field="assignee") from exc
        if taker.role not in TAKERS:
            raise InvalidAssignee(f"login {assignee_id} is {taker.role}", field="assignee")
    _set(uow, ticket.id, assignee_id=assignee_id)
    audit(uow, actor_id, "ticket.assign", f"ticket:{ticket.id}", assignee=assignee_id)
    return get_ticket(uow, ticket.id)


def close(uow: UnitOfWork, ticket_id: int, actor_id: int) -> Ticket:
    """Close the ticket (its resolution time ends here); closing twice changes nothing."""
    ticket = get_ticket(uow, ticket_id)
    if ticket.state != "closed":
        _set(uow, ticket.id, state="closed", closed_at=uow.now)
        _add(uow, ticket.id, actor_id, "system", "console", "closed")
        audit(uow, actor_id, "ticket.close", f"ticket:{ticket.id}")
    return get_ticket(uow, ticket.id)


def reopen(uow: UnitOfWork, ticket_id: int, actor_id: int) -> Ticket:
    """Open a closed ticket again (staff's turn)."""
    ticket = get_ticket(uow, ticket_id)
    if ticket.state == "closed":
        _set(uow, ticket.id, state="open", closed_at=None)
        _add(uow, ticket.id, actor_id, "system", "console", "reopened")
        audit(uow, actor_id, "ticket.reopen", f"ticket:{ticket.id}")
    return get_ticket(uow, ticket.id)
