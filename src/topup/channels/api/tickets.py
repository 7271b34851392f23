"""/tickets: a traveller's support requests over the API — list them, open one (about one of
their orders or lines, or in general), read one with its conversation, and write in it.
Only the traveller's own (anyone else's is a 404); staff's internal notes never appear.
Staff work tickets in the console. The request and answer models live here, beside the only
routes that use them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import database, role
from topup.db.uow import Database, UnitOfWork
from topup.subscribers.auth import User
from topup.support import service as support

router = APIRouter(prefix="/tickets", tags=["support"])
customer = role("customer")
ID = Field(default=None, ge=1, le=2**53)


class TicketIn(BaseModel):
    """A new request: a subject and the first message, optionally about an order or line."""

    model_config = ConfigDict(extra="forbid")
    subject: str = Field(min_length=1, max_length=support.SUBJECT_MAX)
    body: str = Field(min_length=1, max_length=support.BODY_MAX)
    order_id: int | None = ID
    line_id: int | None = ID


class MessageIn(BaseModel):
    """The traveller's message in their request."""

    model_config = ConfigDict(extra="forbid")
    body: str = Field(min_length=1, max_length=support.BODY_MAX)


class MessageOut(BaseModel):
    """One message: ``customer`` (the traveller), ``staff`` (support's answer) or
    ``system`` (``payment_pending``, ``closed``, ``reopened``)."""

    id: int
    kind: str
    via: str
    body: str
    created_at: datetime


class TicketOut(BaseModel):
    """A request: ``open`` (support's turn), ``waiting`` (answered) or ``closed``."""

    id: int
    subject: str
    state: str
    source: str
    order_id: int | None
    line_id: int | None
    created_at: datetime
    updated_at: datetime
    messages: list[MessageOut] | None = None


def _out(ticket: support.Ticket, said: list[support.Message] | None = None) -> TicketOut:
    return TicketOut(
        id=ticket.id, subject=ticket.subject, state=ticket.state, source=ticket.source,
        order_id=ticket.order_id, line_id=ticket.line_id, created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        messages=None if said is None else [MessageOut(
            id=m.id, kind=m.kind, via=m.via, body=m.body, created_at=m.created_at)
            for m in said])


@router.get("", response_model=list[TicketOut])
def mine(user: User = Depends(customer), db: Database = Depends(database)) -> list[TicketOut]:
    """The caller's requests, newest first."""
    with db.unit(readonly=True) as uow:
        return [_out(t) for t in support.tickets_of(uow, user.id)]


@router.post("", status_code=201, response_model=TicketOut)
def open_ticket(body: TicketIn, user: User = Depends(customer),
                db: Database = Depends(database)) -> TicketOut:
    """Open a request (about one of the caller's orders or lines, or in general)."""
    def work(uow: UnitOfWork) -> TicketOut:
        ticket = support.open_ticket(uow, user, body.subject, body.body,
                                     order_id=body.order_id, line_id=body.line_id, via="api")
        return _out(ticket, support.messages(uow, ticket.id))

    return db.transact(work, what="ticket")


@router.get("/{ticket_id}", response_model=TicketOut)
def detail(ticket_id: DbId, user: User = Depends(customer), db: Database = Depends(database)
           ) -> TicketOut:
    """One of the caller's requests with its conversation (no internal notes)."""
    with db.unit(readonly=True) as uow:
        ticket = support.get_ticket(uow, ticket_id, owner=user.id)
        return _out(ticket, support.messages(uow, ticket.id))


@router.post("/{ticket_id}/messages", status_code=201, response_model=TicketOut)
def write(ticket_id: DbId, body: MessageIn, user: User = Depends(customer),
          db: Database = Depends(database)) -> TicketOut:
    """Add the caller's message; it is support's turn again."""
    def work(uow: UnitOfWork) -> TicketOut:
        support.customer_message(uow, ticket_id, user.id, body.body, via="api")
        ticket = support.get_ticket(uow, ticket_id)
        return _out(ticket, support.messages(uow, ticket.id))

    return db.transact(work, what="ticket message")
