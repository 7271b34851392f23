"""Lines in the console: search by number, ICCID or e-mail; a line's whole picture (balances,
plans, live charging sessions, orders, ledger movements, status history, messages, audit);
and what staff do to it: freeze or unfreeze with a reason, credit money by hand, send a
message again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.audit.service import entries
from topup.catalog import service as catalog
from topup.channels.admin.pages import money_field, page, reason_of
from topup.channels.api.bounds import DbId
from topup.channels.portal.history import MOVEMENTS, movements
from topup.channels.portal.views import line_view
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.charging.buckets import line_buckets
from topup.charging.sessions import live_sessions
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.notifications import service as outbox
from topup.notifications.errors import NotificationNotFound
from topup.notifications.recipients import recipients_of
from topup.orders import service as orders
from topup.orders.idempotency import run_once
from topup.orders.model import OrderRequest
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = 20


@router.get("/admin/lines")
def search(q: str = Query("", max_length=100), w: Web = Depends(allowed("lines.read"))
           ) -> Response:
    """Find lines by part of an MSISDN or ICCID, or of the customer's e-mail."""
    text = q.strip()
    found: list[tuple[Line, str | None]] = []
    short = 0 < len(text) < 3
    with w.db.unit(readonly=True) as uow:
        if len(text) >= 3:
            found = [(x, _owner(uow, x)) for x in line_svc.search_lines(uow, text)]
        newest = [] if text else [(x, _owner(uow, x)) for x in line_svc.newest_lines(uow)]
    return page(w, "admin/lines.html", "lines", q=text, found=found, short=short,
                newest=newest)


def _owner(uow: UnitOfWork, line: Line) -> str | None:
    if line.customer_id is None:
        return None
    user = auth.get_user(uow, line.customer_id)
    return user.email or user.phone


def _detail(w: Web, line_id: int, before: int | None) -> dict[str, Any]:
    with w.db.unit(readonly=True) as uow:
        line = line_svc.get_line(uow, line_id)
        to = recipients_of(uow, line.id)
        buckets = line_buckets(uow, line.id, include_expired=True)
        addresses = [a for a in (to.email, to.sms, f"+{line.msisdn}" if line.msisdn else None)
                     if a]
        history = line_svc.line_history(uow, line.id)
        audit = entries(uow, f"line:{line.id}", limit=50)
        ids = [h["actor_id"] for h in history] + [a["actor_id"] for a in audit]
        actors = auth.login_names(uow, [i for i in ids if isinstance(i, int)])
        return {
            "line": line, "actors": actors, "owner": _owner(uow, line),
            "view": line_view(uow, line, w.t.lang),
            "buckets": buckets, "plan_names": {
                b.plan_id: catalog.get_plan(uow, b.plan_id).name(w.t.lang) for b in buckets},
            "sessions": live_sessions(uow, line.id),
            "orders": orders.line_orders(uow, line.id, limit=PAGE),
            "moves": movements(uow, line.id, before), "before": before,
            "history": history, "audit": audit,
            "messages": outbox.messages_to(uow, addresses, line.customer_id),
            "movement_names": MOVEMENTS, "not_again": outbox.NOT_AGAIN,
        }


def _line_page(w: Web, line_id: int, form: Form | None = None, status: int = 200,
               before: int | None = None) -> Response:
    data = _detail(w, line_id, before)
    form = form or Form({})
    form.key("credit_key")
    form.values.setdefault("currency", data["line"].currency)
    more = data["moves"][-1].id if len(data["moves"]) == PAGE else None
    return page(w, "admin/line.html", "lines", status=status, form=form, more=more, **data)


@router.get("/admin/lines/{line_id}")
def detail(line_id: DbId, before: DbId | None = None,
           w: Web = Depends(allowed("lines.read"))) -> Response:
    """Everything about one line; ``before`` pages its ledger movements back."""
    return _line_page(w, line_id, before=before)


def _state_change(w: Web, line_id: int, form: Form, freeze: bool) -> Response:
    reason = reason_of(w, form, "state_reason")
    if form.ok:
        try:
            change = line_svc.freeze if freeze else line_svc.unfreeze
            w.db.transact(lambda uow: change(uow, line_id, actor=w.me().id, reason=reason),
                          what="freeze" if freeze else "unfreeze")
        except TopupError as exc:
            form.refuse(w.t, exc, "state_reason")
    if not form.ok:
        return _line_page(w, line_id, form, 422)
    return w.redirect(f"/admin/lines/{line_id}", notice="frozen" if freeze else "unfrozen")


@router.post("/admin/lines/{line_id}/freeze")
def freeze(line_id: DbId, form: Form = Depends(posted),
           w: Web = Depends(allowed("lines.freeze"))) -> Response:
    """Freeze the line: no top-ups, purchases or usage until it is unfrozen."""
    return _state_change(w, line_id, form, True)


@router.post("/admin/lines/{line_id}/unfreeze")
def unfreeze(line_id: DbId, form: Form = Depends(posted),
             w: Web = Depends(allowed("lines.freeze"))) -> Response:
    """Lift the freeze: the line returns to the status it had."""
    return _state_change(w, line_id, form, False)


@router.post("/admin/lines/{line_id}/credit")
def credit(line_id: DbId, form: Form = Depends(posted),
           w: Web = Depends(allowed("lines.credit"))) -> Response:
    """Credit the line's wallet by hand (cash at the desk, goodwill), once per form."""
    user = w.me()
    with w.db.unit(readonly=True) as uow:
        line = line_svc.get_line(uow, line_id)
    currency = form.get("currency") or line.currency
    amount = money_field(w, form, "amount", currency)
    reason = reason_of(w, form, "credit_reason")
    if not form.ok or amount is None:
        return _line_page(w, line_id, form, 422)
    req = OrderRequest(kind="topup", method="manual", channel="admin", currency=currency,
                              amount=amount, reason=reason,
                              confirm_duplicate=form.checked("confirm_duplicate"))
    body = {"line_id": line_id, "amount": amount, "currency": currency, "reason": reason}

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        order = orders.create_order(uow, user.id, line_svc.get_line(uow, line_id), req)
        return 201, {"order_id": order.id}

    try:
        run_once(w.db, user.id, form.get("credit_key"), "POST", "/admin/credit", body, work,
                 retry=True)  # a manual credit calls no provider
    except TopupError as exc:
        form.refuse(w.t, exc, "confirm_duplicate" if exc.code == "duplicate_suspected"
                    else "amount")
        return _line_page(w, line_id, form, exc.status)
    return w.redirect(f"/admin/lines/{line_id}", notice="credited")


@router.post("/admin/lines/{line_id}/messages/{message_id}/resend")
def resend(line_id: DbId, message_id: DbId, form: Form = Depends(posted),
           w: Web = Depends(allowed("notifications.resend"))) -> Response:
    """Queue a copy of one of the line's messages (never a password-reset code)."""
    data = _detail(w, line_id, None)
    if message_id not in {m.id for m in data["messages"]}:
        raise NotificationNotFound(f"no notification {message_id} for this line")
    w.db.transact(lambda uow: outbox.resend(uow, message_id, actor_id=w.me().id),
                  what="resend")
    return w.redirect(f"/admin/lines/{line_id}", notice="resent")
