"""Bank transfers in the console, for finance: the review queue of payments that were not
credited automatically (open, credited, dismissed), each with what the bank statement said,
the three ways to resolve one (credit the order awaiting exactly that amount, top up a line's
wallet with it, dismiss it with a note), and importing a statement file (camt.053 or CSV)
when the bank transfer provider is configured."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.datastructures import UploadFile

from topup.channels.admin.pages import page, positive_int, refusal
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.errors import TopupError
from topup.payments.providers.bank import (
    BankProvider,
    get_review_item,
    import_statement,
    resolve_review,
    review_queue,
)
from topup.payments.providers.bank.errors import StatementRejected
from topup.payments.providers.bank.statement import MAX_BYTES
from topup.subscribers import auth

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
REVIEW = allowed("bank.review")

TABS = {"open": N_("Waiting"), "credited": N_("Credited"), "dismissed": N_("Dismissed")}
REASONS = {
    "partial": N_("Less than the order"), "overpaid": N_("More than the order"),
    "duplicate": N_("The order was paid already"), "currency_mismatch": N_("Another currency"),
    "unmatched": N_("No order found"),
    "order_not_awaiting": N_("The order no longer awaits payment"),
}
FORMATS = {"camt053": N_("camt.053 (ISO 20022 XML)"), "csv": N_("CSV")}
ACTIONS = {"credit_order": N_("Credit the order"),
           "credit_wallet": N_("Top up the line's wallet with the payment"),
           "dismiss": N_("Dismiss: the money was handled outside topup")}
LABELS = {"tabs": TABS, "reasons": REASONS, "formats": FORMATS, "actions": ACTIONS}


def _bank(request: Request) -> BankProvider | None:
    found = request.app.state.payment_providers.get("bank")
    return found if isinstance(found, BankProvider) else None


def _queue(w: Web, state: str, form: Form | None = None, status: int = 200, **extra: Any
           ) -> Response:
    items = review_queue(w.db, state=state)
    return page(w, "admin/bank.html", "bank", status=status, state=state, items=items,
                configured=_bank(w.request) is not None, form=form or Form({"format": "camt053"}),
                format_choices=[(k, w.t.gettext(v)) for k, v in FORMATS.items()],
                **LABELS, **extra)


@router.get("/admin/bank")
def queue(state: str = Query("open"), w: Web = Depends(REVIEW)) -> Response:
    """The review queue (open items unless ``state`` says credited or dismissed)."""
    return _queue(w, state if state in TABS else "open")


async def statement_file(request: Request) -> bytes | None:
    """The uploaded statement's bytes (one more than the limit at most), if a file came."""
    data = await request.form()  # parsed once already by ``posted``: Starlette keeps it
    upload = data.get("statement")
    if isinstance(upload, UploadFile) and upload.filename:
        return await upload.read(MAX_BYTES + 1)
    return None


@router.post("/admin/bank/statements")
def upload(w: Web = Depends(REVIEW), form: Form = Depends(posted),
           data: bytes | None = Depends(statement_file)) -> Response:
    """Import a statement: exact payments settle their orders, the rest joins the queue.
    A statement imported before adds nothing."""
    provider = _bank(w.request)
    fmt = form.get("format")
    if provider is None:
        form.fail("statement", w.t.gettext("Bank transfer is not configured."))
    elif fmt not in FORMATS:
        form.fail("format", w.t.gettext("Choose the statement's format."))
    elif not data:
        form.fail("statement", w.t.gettext("Choose the statement file."))
    elif len(data) > MAX_BYTES:
        form.fail("statement", refusal(w, StatementRejected(
            f"the statement is larger than {MAX_BYTES // 2**20} MiB")))
    if not form.ok or provider is None or data is None:
        return _queue(w, "open", form, 422)
    try:
        result = import_statement(w.db, provider, data, fmt, actor_id=w.me().id)
    except TopupError as exc:
        form.fail("statement", refusal(w, exc))
        return _queue(w, "open", form, 422)
    return _queue(w, "open", form, imported=result)


def _item_page(w: Web, item_id: int, form: Form | None = None, status: int = 200
               ) -> Response:
    with w.db.unit(readonly=True) as uow:
        item = get_review_item(uow, item_id)
        resolver = auth.login_names(uow, [item.resolved_by]).get(item.resolved_by or 0)
    form = form or Form({"action": "credit_order" if item.order_id else "dismiss",
                         "order_id": str(item.order_id or "")})
    return page(w, "admin/bank_item.html", "bank", status=status, item=item, form=form,
                resolver=resolver, **LABELS)


@router.get("/admin/bank/{item_id:int}")
def item(item_id: DbId, w: Web = Depends(REVIEW)) -> Response:
    """One payment of the queue with what the bank said about it, and how to resolve it."""
    return _item_page(w, item_id)


@router.post("/admin/bank/{item_id:int}/resolve")
def resolve(item_id: DbId, w: Web = Depends(REVIEW), form: Form = Depends(posted)
            ) -> Response:
    """Credit the order, top up a wallet, or dismiss; what was done goes in the note."""
    action = form.get("action")
    if action not in ACTIONS:
        form.fail("action", w.t.gettext("Choose what to do with the payment."))
    order_id = positive_int(w, form, "order_id") if (
        action == "credit_order" and form.get("order_id")) else None
    if not form.get("note"):
        form.fail("note", w.t.gettext("Say what was done in a note."))
    if form.ok:
        try:
            resolve_review(w.db, item_id, action, w.me().id, form.get("note"),
                           order_id=order_id,
                           line=form.get("line") if action == "credit_wallet" else None)
            return w.redirect(f"/admin/bank/{item_id}", notice="review_resolved")
        except TopupError as exc:
            form.refuse(w.t, exc, "action", refusal(w, exc))
    return _item_page(w, item_id, form, 422)
