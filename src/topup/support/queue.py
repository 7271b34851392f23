"""The staff queue: tickets filtered by state, age and who has them, oldest first, with who
asked and the last message's time; and the logins that may take tickets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from topup.db.uow import UnitOfWork
from topup.subscribers.tables import users
from topup.support.service import TAKERS, Ticket
from topup.support.tables import TICKET_STATES, ticket_messages, tickets

AGES = {"1h": timedelta(hours=1), "1d": timedelta(days=1), "3d": timedelta(days=3),
        "7d": timedelta(days=7)}  # "older than"


@dataclass(frozen=True)
class Filters:
    """What the queue shows: ``state`` (or ``active``: open and waiting, or ``all``),
    ``age`` (a key of AGES: older than that), ``assignee`` (a login id, 0: nobody)."""

    state: str = "active"
    age: str = ""
    assignee: int | None = None


@dataclass(frozen=True)
class QueueRow:
    """A ticket in the queue with who asked and when anything was last written."""

    ticket: Ticket
    customer: str | None
    last_at: datetime | None


def _where(f: Filters, now: datetime) -> list[Any]:
    cond: list[Any] = []
    if f.state in TICKET_STATES:
        cond.append(tickets.c.state == f.state)
    elif f.state != "all":
        cond.append(tickets.c.state != "closed")
    if f.age in AGES:
        cond.append(tickets.c.created_at <= now - AGES[f.age])
    if f.assignee == 0:
        cond.append(tickets.c.assignee_id.is_(None))
    elif f.assignee is not None:
        cond.append(tickets.c.assignee_id == f.assignee)
    return cond


def queue(uow: UnitOfWork, f: Filters, limit: int = 200) -> list[QueueRow]:
    """The tickets ``f`` selects, oldest first (the longest wait is worked first)."""
    last = (select(ticket_messages.c.ticket_id, func.max(ticket_messages.c.created_at)
                   .label("last_at")).group_by(ticket_messages.c.ticket_id).subquery())
    query = (select(tickets, users.c.email, users.c.phone, last.c.last_at)
             .select_from(tickets.outerjoin(users, users.c.id == tickets.c.customer_id)
                          .outerjoin(last, last.c.ticket_id == tickets.c.id))
             .where(*_where(f, uow.now)).order_by(tickets.c.created_at, tickets.c.id)
             .limit(limit))
    return [QueueRow(Ticket.of(r), r.email or r.phone, r.last_at)
            for r in uow.conn.execute(query)]


def takers(uow: UnitOfWork) -> list[tuple[int, str]]:
    """Logins that may take a ticket (support and admin staff): (id, e-mail or phone)."""
    rows = uow.conn.execute(select(users.c.id, users.c.email, users.c.phone)
                            .where(users.c.role.in_(TAKERS)).order_by(users.c.id))
    return [(int(r.id), str(r.email or r.phone or r.id)) for r in rows]
