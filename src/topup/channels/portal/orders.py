"""An order's status page (it updates itself until the order is settled), the payment step
for QR codes and bank transfers, and the owner's receipts (HTML and PDF)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse

from topup.catalog import service as catalog
from topup.channels.api.bounds import DbId
from topup.channels.portal.payment import method_label, qr_svg, refresh
from topup.channels.portal.web import PortalRoute, Web, signed_in
from topup.errors import TopupError
from topup.esim import inventory, store
from topup.orders import service as orders
from topup.orders.model import Order
from topup.receipts import service as receipts
from topup.subscribers import lines as line_svc

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
SETTLED = ("fulfilled", "failed", "cancelled", "expired", "refunded")
PRIVATE = {"Cache-Control": "private, no-store"}


def _mine(w: Web, order_id: int) -> Order:
    with w.db.unit(readonly=True) as uow:
        return orders.get_order(uow, order_id, owner=w.me().id)


def _esim(w: Web, order: Order) -> dict[str, Any] | None:
    """A store order's eSIM: its state and, once paid, how to install it."""
    with w.db.unit(readonly=True) as uow:
        profile = inventory.profile_of_order(uow, order.id)
    if profile is None:
        return None
    sold = order.state == "fulfilled" and profile.state in ("assigned", "installed", "failed")
    code = profile.activation_code if sold else None
    return {"profile": profile, "code": code, "ios": store.ios_link(code) if code else None,
            "qr": qr_svg(code, w.t.gettext("QR code of the eSIM activation code"))
            if code else None,
            # the page keeps asking until the SM-DP+ says the eSIM is installed (or failed)
            "watch": sold and profile.state == "assigned"}


def _state(order: Order, esim: dict[str, Any] | None) -> str:
    return f"{order.state}/{esim['profile'].state}" if esim else order.state


@router.get("/orders/{order_id}")
def order_page(order_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """Where the order stands; while it waits, the payment step (link, QR code or bank
    details) and a page that refreshes itself until the order is credited."""
    order = refresh(w.request, w.db, _mine(w, order_id))
    with w.db.unit(readonly=True) as uow:
        line = line_svc.get_line(uow, order.line_id)
        plan = catalog.get_plan(uow, order.plan_id) if order.plan_id else None
        try:
            receipt = receipts.get_receipt(uow, order.id)
        except TopupError:
            receipt = None
    action = order.next_action or {}
    qr = None
    if order.state == "awaiting_payment" and action.get("kind") == "qr" and action.get("value"):
        qr = qr_svg(str(action["value"]), w.t.gettext("Payment QR code"))
    esim = _esim(w, order)
    return w.page("order.html", order=order, line=line, plan=plan, receipt=receipt,
                  action=action, qr=qr, settled=order.state in SETTLED, esim=esim,
                  watch=order.state not in SETTLED or bool(esim and esim["watch"]),
                  poll_state=_state(order, esim),
                  method_name=method_label(w.t.lang, order.method))


@router.get("/orders/{order_id}/status")
def order_status(order_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """The order's state for the page's script (asks the provider while it waits)."""
    order = refresh(w.request, w.db, _mine(w, order_id))
    return JSONResponse({"id": order.id, "state": _state(order, _esim(w, order)),
                         "settled": order.state in SETTLED}, headers=PRIVATE)


@router.get("/orders/{order_id}/receipt")
def receipt_page(order_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """The printable receipt of a paid order, in the page's language."""
    order = _mine(w, order_id)
    with w.db.unit(readonly=True) as uow:
        receipt = receipts.get_receipt(uow, order.id)
        line = line_svc.get_line(uow, order.line_id)
    html = receipts.render_html(receipt, order, line, w.t.lang,
                                pdf_href=f"/orders/{order.id}/receipt.pdf")
    return Response(html, media_type="text/html; charset=utf-8", headers=PRIVATE)


@router.get("/orders/{order_id}/receipt.pdf")
def receipt_pdf(order_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """The receipt as a PDF download named after its number."""
    order = _mine(w, order_id)
    with w.db.unit(readonly=True) as uow:
        receipt = receipts.get_receipt(uow, order.id)
        line = line_svc.get_line(uow, order.line_id)
    body = receipts.render_pdf(receipt, order, line, w.t.lang)
    disposition = f'attachment; filename="receipt-{receipt.number}.pdf"'
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": disposition, **PRIVATE})
