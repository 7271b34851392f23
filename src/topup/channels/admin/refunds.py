"""Orders and refunds in the console: an order's page (its line, what was bought and how it
was paid, its receipt, its refunds) with the refund form, and the refunds page (find an order
by its number; the latest refunds of every order).

A refund takes the same paths as the admin API: back through the payment provider, an
untouched plan bought from the wallet back to the wallet, or recording a refund finance paid
out by hand. Each form carries its own key, so pressing the button twice refunds once.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.catalog import service as catalog
from topup.channels.admin.pages import money_field, page, reason_of
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.messages import error_text
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.errors import TopupError
from topup.money import Money
from topup.orders import refunds
from topup.orders import service as orders
from topup.orders.model import Order
from topup.orders.refunds import NotRefundable, RefundView
from topup.payments.errors import RefundFailed
from topup.receipts import service as receipts
from topup.subscribers import lines as line_svc

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
READ, WRITE = allowed("orders.read"), allowed("refunds.write")
RECENT = 50

REFUND_STATES = {"pending": N_("In progress"), "succeeded": N_("Paid back"),
                 "failed": N_("Failed")}
HOW = {"provider": N_("Pay back through the payment provider"),
       "paid_out": N_("Record a refund that finance paid out by hand"),
       "wallet": N_("Return the plan to the wallet (in full)")}
LABELS = {"refund_states": REFUND_STATES}  # methods, channels: every console page has them


def wallet_plan(order: Order) -> bool:
    """An untouched plan bought from the wallet goes back to the wallet, not to a payer."""
    return order.method == "wallet" and order.kind == "plan"


def _order_data(w: Web, order_id: int) -> dict[str, Any]:
    with w.db.unit(readonly=True) as uow:
        order = orders.get_order(uow, order_id)
        try:
            receipt: receipts.Receipt | None = receipts.get_receipt(uow, order.id)
        except TopupError:
            receipt = None
        plan = catalog.get_plan(uow, order.plan_id) if order.plan_id else None
        return {"order": order, "line": line_svc.get_line(uow, order.line_id),
                "receipt": receipt, "plan": plan, "refunds": refunds.order_refunds(uow, order.id),
                "refundable": Money(refunds.refundable(uow, order), order.currency)}


def _order_page(w: Web, order_id: int, form: Form | None = None, status: int = 200
                ) -> Response:
    data = _order_data(w, order_id)
    order: Order = data["order"]
    ways = ["wallet"] if wallet_plan(order) else ["provider", "paid_out"]
    form = form or Form({"how": ways[0]})
    form.key("refund_key")
    return page(w, "admin/order.html", "refunds", status=status, form=form,
                ways=[(k, w.t.gettext(HOW[k])) for k in ways], **data, **LABELS)


@router.get("/admin/orders/{order_id:int}")
def detail(order_id: DbId, w: Web = Depends(READ)) -> Response:
    """The order as staff see it, with its refunds and, for finance, the refund form."""
    return _order_page(w, order_id)


@router.get("/admin/orders/{order_id:int}/receipt")
def receipt(order_id: DbId, w: Web = Depends(READ)) -> Response:
    """The order's receipt, printable, in the page's language."""
    with w.db.unit(readonly=True) as uow:
        order = orders.get_order(uow, order_id)
        found = receipts.get_receipt(uow, order.id)
        line = line_svc.get_line(uow, order.line_id)
    return Response(receipts.render_html(found, order, line, w.t.lang),
                    media_type="text/html; charset=utf-8",
                    headers={"Cache-Control": "private, no-store"})


def _refund(w: Web, order: Order, how: str, amount: int | None, reason: str, key: str
            ) -> RefundView:
    user = w.me()
    key = f"{user.id}:console:{key}"
    if how == "wallet":
        if amount not in (None, order.amount):
            raise NotRefundable("a plan goes back to the wallet in full",
                                refundable=order.amount)
        return refunds.return_plan_to_wallet(w.db, order.id, key=key, reason=reason,
                                             actor_id=user.id)
    if how == "paid_out":
        return refunds.record_paid_out(w.db, order.id, key=key, reason=reason,
                                       actor_id=user.id, amount=amount)
    provider = w.request.app.state.payment_providers.get((order.payment_ref or "").split(":")[0])
    if provider is None:
        raise NotRefundable("this order was not paid through a configured provider")
    return refunds.refund_order(w.db, provider, order.id, key=key, reason=reason,
                                actor_id=user.id, amount=amount)


def _refusal(w: Web, form: Form, order: Order, exc: TopupError) -> None:
    if isinstance(exc, NotRefundable):
        left = Money(refunds_left(exc), order.currency).format(w.t.locale)
        form.fail("refund_amount", w.t.gettext(
            "This order cannot be refunded for that amount. Refundable now: %(amount)s.",
            amount=left))
    elif isinstance(exc, RefundFailed):
        form.key("refund_key", fresh=True)  # a new try is a new refund
        form.fail("how", w.t.gettext("The payment provider refused the refund; nothing was "
                                     "paid back (%(detail)s).", detail=exc.detail))
    else:
        form.fail("how", error_text(w.t, exc))


def refunds_left(exc: TopupError) -> int:
    """What the refusal says is still refundable (minor units)."""
    left = exc.extra.get("refundable")
    return left if isinstance(left, int) else 0


@router.post("/admin/orders/{order_id:int}/refunds")
def refund(order_id: DbId, w: Web = Depends(WRITE), form: Form = Depends(posted)) -> Response:
    """Refund the order all that may go back (no amount) or part of it, once per form."""
    with w.db.unit(readonly=True) as uow:
        order = orders.get_order(uow, order_id)
    how = form.get("how")
    if how not in HOW or (how == "wallet") != wallet_plan(order):
        form.fail("how", w.t.gettext("Choose how to refund."))
    amount = money_field(w, form, "refund_amount", order.currency) if form.get(
        "refund_amount") else None
    reason = reason_of(w, form, "refund_reason")
    if form.ok:
        try:
            done = _refund(w, order, how, amount, reason, form.get("refund_key"))
            if done.state != "failed":
                notice = {"wallet": "plan_returned", "paid_out": "refund_recorded"}
                return w.redirect(f"/admin/orders/{order_id}",
                                  notice=notice.get(how, "refunded"))
            _refusal(w, form, order, RefundFailed(done.failure or ""))
        except TopupError as exc:
            _refusal(w, form, order, exc)
    return _order_page(w, order_id, form, 422)


@router.get("/admin/refunds")
def recent(order: str = Query("", max_length=20), w: Web = Depends(WRITE)) -> Response:
    """Find an order by its number (``?order=ID`` opens it); the latest refunds."""
    wanted = order.strip().lstrip("#")
    if wanted.isdigit() and int(wanted) > 0:
        return w.redirect(f"/admin/orders/{int(wanted)}")
    with w.db.unit(readonly=True) as uow:
        latest = refunds.recent_refunds(uow, RECENT)
    problem = w.t.gettext("Enter an order number.") if wanted else None
    return page(w, "admin/refunds.html", "refunds", status=422 if problem else 200,
                latest=latest, order=order, problem=problem, **LABELS)
