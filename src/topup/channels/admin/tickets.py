"""The support queue in the console (support and admin staff: ``tickets.read`` /
``tickets.write``): the queue filtered by state, age and who has the ticket; a ticket's page
with the conversation, internal notes, the order, line and payment beside it, and the forms
to answer, note, assign, close and reopen; and the first-response and resolution report.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.channels.admin.pages import page
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.labels import NOTICES
from topup.channels.portal.messages import error_text
from topup.channels.portal.tickets import SYSTEM, subject_of
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.errors import TopupError
from topup.orders import service as orders
from topup.receipts import service as receipts
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.support import queue, reports
from topup.support import service as support

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
READ, WRITE = allowed("tickets.read"), allowed("tickets.write")
NOTICES.update({"ticket_replied": N_("The answer was sent to the traveller."),
                "ticket_noted": N_("The note was added."),
                "ticket_assigned": N_("The ticket was assigned."),
                "ticket_closed": N_("The ticket was closed."),
                "ticket_reopened": N_("The ticket was opened again.")})
STATES = {"open": N_("Open"), "waiting": N_("Waiting for the traveller"),
          "closed": N_("Closed")}
STATE_FILTERS = {"active": N_("Open or waiting"), **STATES, "all": N_("All")}
AGE_FILTERS = {"": N_("Any age"), "1h": N_("Older than 1 hour"), "1d": N_("Older than 1 day"),
               "3d": N_("Older than 3 days"), "7d": N_("Older than 7 days")}


def _assignee(w: Web, raw: str) -> int | None:
    """``me``, ``none`` (0: nobody) or a login id; anything else: everyone's."""
    if raw == "me":
        return w.me().id
    if raw == "none":
        return 0
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**53 else None


@router.get("/admin/tickets")
def ticket_queue(state: str = Query("active", max_length=10), age: str = Query("", max_length=4),
                 assignee: str = Query("", max_length=20), w: Web = Depends(READ)
                 ) -> Response:
    """The queue, oldest first, with the open tickets counted by age."""
    filters = queue.Filters(state if state in STATE_FILTERS else "active",
                            age if age in AGE_FILTERS else "", _assignee(w, assignee))
    with w.db.unit(readonly=True) as uow:
        rows = queue.queue(uow, filters)
        ages = reports.open_by_age(uow)
        takers = queue.takers(uow)
    return page(w, "admin/tickets.html", "tickets", rows=rows, ages=ages, takers=dict(takers),
                filters=filters, assignee=assignee, **_labels(w))


def _labels(w: Web) -> dict[str, Any]:
    return {"ticket_states": STATES, "state_filters": STATE_FILTERS, "age_filters": AGE_FILTERS,
            "system_texts": SYSTEM, "subject_of": lambda ticket: subject_of(w, ticket)}


@router.get("/admin/tickets/report")
def ticket_report(w: Web = Depends(READ)) -> Response:
    """First-response and resolution times per week (median, 90th percentile)."""
    with w.db.unit(readonly=True, replica=True) as uow:
        weeks = reports.weekly(uow, 12)
        ages = reports.open_by_age(uow)
    return page(w, "admin/ticket_report.html", "tickets", weeks=weeks, ages=ages,
                as_of=uow.as_of)


def _around(w: Web, ticket: support.Ticket) -> dict[str, Any]:
    """The order, line, payment and traveller beside the conversation."""
    found: dict[str, Any] = {"order": None, "line": None, "receipt": None, "customer": None}
    with w.db.unit(readonly=True) as uow:
        if ticket.order_id:
            found["order"] = orders.get_order(uow, ticket.order_id)
            with suppress(TopupError):  # not paid: no receipt yet
                found["receipt"] = receipts.get_receipt(uow, ticket.order_id)
        if ticket.line_id:
            found["line"] = line_svc.get_line(uow, ticket.line_id)
        if ticket.customer_id:
            found["customer"] = auth.get_user(uow, ticket.customer_id)
        found["said"] = support.messages(uow, ticket.id, notes=True)
        found["names"] = auth.login_names(uow, {m.author_id for m in found["said"]}
                                          | {ticket.assignee_id})
        found["takers"] = queue.takers(uow)
    return found


def _ticket_page(w: Web, ticket_id: int, form: Form | None = None, status: int = 200
                 ) -> Response:
    with w.db.unit(readonly=True) as uow:
        ticket = support.get_ticket(uow, ticket_id)
    return page(w, "admin/ticket.html", "tickets", status=status, ticket=ticket,
                form=form or Form({}), **_around(w, ticket), **_labels(w))


@router.get("/admin/tickets/{ticket_id:int}")
def ticket_detail(ticket_id: DbId, w: Web = Depends(READ)) -> Response:
    """A ticket with everything staff need to answer it."""
    return _ticket_page(w, ticket_id)


def _act(w: Web, ticket_id: int, form: Form, notice: str, work: Any) -> Response:
    """Run ``work(uow)``; back to the ticket with ``notice``, or the page with the refusal."""
    try:
        w.db.transact(work, what=notice)
    except TopupError as exc:
        if exc.status == 404:
            raise
        form.fail("body", error_text(w.t, exc))
        return _ticket_page(w, ticket_id, form, exc.status)
    return w.redirect(f"/admin/tickets/{ticket_id}", notice=notice)


@router.post("/admin/tickets/{ticket_id:int}/reply")
def reply(ticket_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Answer the traveller (by e-mail and SMS, and on their request's page)."""
    return _act(w, ticket_id, form, "ticket_replied",
                lambda uow: support.reply(uow, ticket_id, w.me().id, form.get("body")))


@router.post("/admin/tickets/{ticket_id:int}/note")
def note(ticket_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """An internal note, never shown to the traveller."""
    return _act(w, ticket_id, form, "ticket_noted",
                lambda uow: support.note(uow, ticket_id, w.me().id, form.get("body")))


@router.post("/admin/tickets/{ticket_id:int}/assign")
def assign(ticket_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Give the ticket to me, to another support login, or back to the queue."""
    raw = form.get("assignee")
    who = _assignee(w, raw) if raw else 0
    return _act(w, ticket_id, form, "ticket_assigned",
                lambda uow: support.assign(uow, ticket_id, who or None, w.me().id))


@router.post("/admin/tickets/{ticket_id:int}/close")
def close(ticket_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Close the ticket."""
    return _act(w, ticket_id, form, "ticket_closed",
                lambda uow: support.close(uow, ticket_id, w.me().id))


@router.post("/admin/tickets/{ticket_id:int}/reopen")
def reopen(ticket_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
           ) -> Response:
    """Open a closed ticket again."""
    return _act(w, ticket_id, form, "ticket_reopened",
                lambda uow: support.reopen(uow, ticket_id, w.me().id))
