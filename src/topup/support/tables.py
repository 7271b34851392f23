"""Tables of support tickets and their messages.

Invariants held by the schema:
- a ticket's state, source and a message's kind and way in are from fixed lists;
- a ticket opened by the platform itself carries an ``auto_key`` (``pending:<order id>``),
  unique, so the job that opens it can run any number of times and open it once;
- an e-mail answer is kept once: its Message-ID is unique (``uq_ticket_messages_email_id``),
  so a mail server that hands the same message over twice adds it once;
- a ticket is closed exactly when it has a ``closed_at``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

TICKET_STATES = ("open", "waiting", "closed")  # open: staff's turn; waiting: the traveller's
TICKET_SOURCES = ("portal", "api", "email", "auto")
MESSAGE_KINDS = ("customer", "staff", "note", "system")  # note: staff only, never shown out
MESSAGE_VIA = ("portal", "api", "email", "console", "system")


def _listed(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


tickets = Table(
    "tickets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("users.id"), nullable=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("subject", String(200), nullable=False),
    Column("state", String(10), nullable=False),
    Column("source", String(10), nullable=False),
    Column("language", String(8), nullable=False),
    Column("assignee_id", Id, ForeignKey("users.id"), nullable=True),
    Column("auto_key", String(64), nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("first_response_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    CheckConstraint(_listed("state", TICKET_STATES), name="state"),
    CheckConstraint(_listed("source", TICKET_SOURCES), name="source"),
    CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_when"),
)
Index("ix_tickets_queue", tickets.c.state, tickets.c.created_at)
Index("ix_tickets_customer", tickets.c.customer_id, tickets.c.id)

ticket_messages = Table(
    "ticket_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ticket_id", Id, ForeignKey("tickets.id"), nullable=False),
    Column("author_id", Id, ForeignKey("users.id"), nullable=True),
    Column("kind", String(10), nullable=False),
    Column("via", String(10), nullable=False),
    Column("body", Text, nullable=False),
    Column("email_id", String(255), nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(_listed("kind", MESSAGE_KINDS), name="kind"),
    CheckConstraint(_listed("via", MESSAGE_VIA), name="via"),
)
Index("ix_ticket_messages_ticket", ticket_messages.c.ticket_id, ticket_messages.c.id)
