"""A traveller's support requests: the list, one request's conversation with the reply form,
and the new-request form, opened from an order ("my top-up has not arrived", prefilled with
the order, its payment reference and its receipt), from a line, or in general.

Only the traveller's own tickets, orders and lines are reachable (``support.service``
refuses the rest as if they did not exist); staff work tickets in the console.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.channels.api.bounds import DbId
from topup.channels.portal import labels
from topup.channels.portal.i18n import N_
from topup.channels.portal.rendering import TRAVELLER, MenuItem, add_menu_item
from topup.channels.portal.web import Form, PortalRoute, Web, posted, signed_in
from topup.errors import TopupError
from topup.orders import service as orders
from topup.receipts import service as receipts
from topup.subscribers import lines as line_svc
from topup.support import service as support

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
add_menu_item(MenuItem("/tickets", N_("Support"), TRAVELLER, "tickets"))
labels.NOTICES.update({  # the notices these pages redirect with (a section adds its own)
    "ticket_opened": N_("Your request was sent. We will answer here and by e-mail."),
    "ticket_message": N_("Your message was added."),
})

STATES = {"open": N_("Waiting for support"), "waiting": N_("Answered"),
          "closed": N_("Closed")}
SYSTEM = {
    "payment_pending": N_("Your payment has not reached us after 30 minutes. We opened this "
                          "request and are looking at it: you do not need to pay again."),
    "closed": N_("Support closed this request. Write again if you still need help."),
    "reopened": N_("This request was opened again."),
}


def subject_of(w: Web, ticket: support.Ticket) -> str:
    """The subject in the reader's language (the platform's own tickets are translated)."""
    if ticket.source == "auto" and ticket.order_id:
        return w.t.gettext("Payment for order %(id)s not received yet", id=ticket.order_id)
    return ticket.subject


def _labels(w: Web) -> dict[str, Any]:
    return {"ticket_states": STATES, "system_texts": SYSTEM,
            "subject_of": lambda ticket: subject_of(w, ticket)}


@router.get("/tickets")
def my_tickets(w: Web = Depends(signed_in)) -> Response:
    """The traveller's requests, newest first, with a button for a new one."""
    with w.db.unit(readonly=True) as uow:
        mine = support.tickets_of(uow, w.me().id)
    return w.page("tickets.html", tickets=mine, **_labels(w))


def _order_facts(w: Web, order_id: int) -> dict[str, Any]:
    with w.db.unit(readonly=True) as uow:
        order = orders.get_order(uow, order_id, owner=w.me().id)
        try:
            receipt: Any = receipts.get_receipt(uow, order.id)
        except TopupError:
            receipt = None
    return {"order": order, "receipt": receipt}


def _prefill(w: Web, order_id: int | None, line_id: int | None) -> tuple[Form, dict[str, Any]]:
    form, about = Form({}), {}
    if order_id is not None:
        about = _order_facts(w, order_id)
        order = about["order"]
        where = f"/orders/{order.id}/receipt" if about["receipt"] else f"/orders/{order.id}"
        form.values.update(order_id=str(order.id), subject=w.t.gettext(
            "My top-up has not arrived") if order.kind == "topup" else w.t.gettext(
            "My purchase has not arrived"), body=w.t.gettext(
            "Order: %(id)s\nAmount: %(amount)s\nPayment reference: %(ref)s\nReceipt: %(url)s"
            "\n\n", id=order.id, amount=order.total.format(w.t.locale),
            ref=order.payment_ref or "-", url=w.db.settings.public_url + where))
    elif line_id is not None:
        with w.db.unit(readonly=True) as uow:
            line = line_svc.get_line(uow, line_id, owner=w.me().id)
        about = {"line": line}
        number = f"+{line.msisdn}" if line.msisdn else line.iccid
        form.values.update(line_id=str(line.id), subject=w.t.gettext(
            "A question about my line %(number)s", number=number))
    return form, about


@router.get("/tickets/new")
def new_ticket(order: int | None = Query(None, ge=1, le=2**53),
               line: int | None = Query(None, ge=1, le=2**53),
               w: Web = Depends(signed_in)) -> Response:
    """The new-request form (``?order=`` or ``?line=`` prefill it)."""
    form, about = _prefill(w, order, line)
    return w.page("ticket_new.html", form=form, **about)


def _id(form: Form, name: str) -> int | None:
    raw = form.get(name)
    return int(raw) if raw.isdigit() and 0 < int(raw) < 2**53 else None


@router.post("/tickets/new")
def open_ticket(form: Form = Depends(posted), w: Web = Depends(signed_in)) -> Response:
    """Send the request; its page shows it."""
    order_id, line_id = _id(form, "order_id"), _id(form, "line_id")
    if not form.get("subject"):
        form.fail("subject", w.t.gettext("Say in a few words what it is about."))
    if not form.get("body"):
        form.fail("body", w.t.gettext("Write your message."))
    if form.ok:
        try:
            ticket = w.db.transact(lambda uow: support.open_ticket(
                uow, w.me(), form.get("subject"), form.get("body"), order_id=order_id,
                line_id=line_id), what="ticket")
            return w.redirect(f"/tickets/{ticket.id}", notice="ticket_opened")
        except TopupError as exc:
            form.refuse(w.t, exc, "body")
    about = _order_facts(w, order_id) if order_id else {}
    return w.page("ticket_new.html", status=422, form=form, **about)


def _ticket_page(w: Web, ticket_id: int, form: Form, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        ticket = support.get_ticket(uow, ticket_id, owner=w.me().id)
        said = support.messages(uow, ticket.id)
    about = _order_facts(w, ticket.order_id) if ticket.order_id else {}
    return w.page("ticket.html", status=status, ticket=ticket, said=said, form=form,
                  **about, **_labels(w))


@router.get("/tickets/{ticket_id}")
def ticket_page(ticket_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """One request's conversation (staff's internal notes are never shown) and the reply
    form."""
    return _ticket_page(w, ticket_id, Form({}))


@router.post("/tickets/{ticket_id}/messages")
def add_message(ticket_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
                ) -> Response:
    """Add the traveller's message; it is support's turn again."""
    try:
        w.db.transact(lambda uow: support.customer_message(uow, ticket_id, w.me().id,
                                                           form.get("body")),
                      what="ticket message")
        return w.redirect(f"/tickets/{ticket_id}", notice="ticket_message")
    except TopupError as exc:
        if exc.status == 404:
            raise
        form.fail("body", w.t.gettext("Write your message."))
    return _ticket_page(w, ticket_id, form, 422)
