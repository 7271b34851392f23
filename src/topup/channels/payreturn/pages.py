"""/pay/return/<order id>?t=<key>: where a payer lands after the provider's page.

It needs no login (the payer may be in another browser or app): the key in the URL, which
only the provider's return link carries, opens it. While the order still waits, each visit
asks the provider where the payment stands — so a PayPal payment is captured the moment the
payer returns — and the page refreshes itself until the order is settled. A payer signed in
to the portal as the order's customer goes on to the portal's order page instead.
"""

from __future__ import annotations

import hmac
import logging
from html import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import database
from topup.channels.api.messages import language_of
from topup.channels.portal import sessions as portal_sessions
from topup.db.uow import Database
from topup.errors import NotFound, TopupError
from topup.orders.model import Order
from topup.orders.service import get_order, return_token
from topup.payments.settlement import settle

router = APIRouter(prefix="/pay", include_in_schema=False)
log = logging.getLogger("topup.payments")

TEXT = {
    "en": {"title": "Payment", "awaiting_payment": "Waiting for the payment to be confirmed…",
           "fulfilled": "Paid. Your balance is updated.", "paid": "Paid.",
           "failed": "The payment did not go through. Nothing was charged.",
           "cancelled": "Cancelled.", "expired": "Expired.", "refunded": "Refunded.",
           "created": "Not paid yet.", "order": "Order"},
    "zh-CN": {"title": "支付结果", "awaiting_payment": "正在确认支付结果…",
              "fulfilled": "支付成功，余额已更新。", "paid": "支付成功。",
              "failed": "支付未成功，未产生扣款。", "cancelled": "已取消。", "expired": "已过期。",
              "refunded": "已退款。", "created": "尚未支付。", "order": "订单"},
}


def _refresh(request: Request, db: Database, order: Order) -> Order:
    name, _, ref = (order.payment_ref or "").partition(":")
    provider = request.app.state.payment_providers.get(name)
    if provider is None or order.state != "awaiting_payment":
        return order
    try:
        status = provider.query(ref)
        return settle(db, provider, order.payment_ref or "", status, "return")
    except TopupError as exc:  # the provider is slow or down: the page simply waits
        log.warning("return page: %s query for order %s failed: %s", name, order.id, exc)
        return order


@router.get("/return/{order_id}", response_class=HTMLResponse)
def payment_return(order_id: DbId, request: Request, t: str = "",
                   db: Database = Depends(database)) -> Response:
    """Where the order stands, in the payer's language."""
    if not hmac.compare_digest(t, return_token(db.settings.secret_key, order_id)):
        raise NotFound()
    with db.unit(readonly=True) as uow:
        order = get_order(uow, order_id)
    order = _refresh(request, db, order)
    session = portal_sessions.from_request(db, request)
    if session is not None and session.user.id == order.customer_id:
        return RedirectResponse(f"/orders/{order.id}", status_code=303)
    lang = language_of(request)
    words = TEXT[lang]
    wait = '<meta http-equiv="refresh" content="3">' if order.state == "awaiting_payment" else ""
    return HTMLResponse(
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">{wait}'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{words['title']}</title></head><body style=\"font-family:sans-serif;"
        f'max-width:30em;margin:auto;padding:1em"><h1>{words[order.state]}</h1>'
        f"<p>{words['order']} #{order.id}: {escape(str(order.total))}</p></body></html>")
