"""/orders/{id}/receipt: a paid order's receipt as JSON, printable HTML, or a PDF download.

The order's customer sees it, and staff see any. The language comes from ``?lang=`` (en or
zh-CN), else from Accept-Language.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import current_user, database
from topup.channels.api.messages import language_of
from topup.db.uow import Database
from topup.orders import service as orders
from topup.orders.model import Order
from topup.receipts import service as receipts
from topup.receipts.service import Receipt
from topup.receipts.view import normalize_lang
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.subscribers.lines import Line
from topup.subscribers.staff import is_staff

router = APIRouter(prefix="/orders", tags=["receipts"])
PRIVATE = {"Cache-Control": "private, no-store"}
Lang = Query(None, pattern=r"^(en|zh|zh-CN|zh-cn)$",
             description="en or zh-CN; overrides Accept-Language")


class ReceiptOut(BaseModel):
    """A receipt: amounts in minor units, ``display`` formatted for the caller's language."""

    number: str = Field(..., description="R<year>-<6 digits>, gap-free per year")
    order_id: int
    line_id: int
    issued_at: datetime
    amount: int
    fee: int
    total: int
    currency: str
    display: dict[str, str]
    method: str
    method_detail: str | None = Field(None, description="Card brand and last four at most")
    operator_name: str
    item: str
    test_mode: bool
    html_url: str
    pdf_url: str


def _load(db: Database, user: User, order_id: int) -> tuple[Receipt, Order, Line]:
    with db.unit(readonly=True) as uow:
        owner = None if is_staff(user.role) else user.id
        order = orders.get_order(uow, order_id, owner=owner)
        receipt = receipts.get_receipt(uow, order.id)
        return receipt, order, line_svc.get_line(uow, order.line_id)


def _lang(request: Request, lang: str | None) -> str:
    return normalize_lang(lang) if lang else language_of(request)


def _out(receipt: Receipt, lang: str) -> ReceiptOut:
    base = f"/api/v1/orders/{receipt.order_id}/receipt"
    return ReceiptOut(
        number=receipt.number, order_id=receipt.order_id, line_id=receipt.line_id,
        issued_at=receipt.issued_at, amount=receipt.amount, fee=receipt.fee,
        total=receipt.total.amount, currency=receipt.currency,
        display={"amount": receipt.money.format(lang), "fee": receipt.fee_money.format(lang),
                 "total": receipt.total.format(lang)},
        method=receipt.method, method_detail=receipt.method_detail,
        operator_name=receipt.operator_name,
        item=receipt.item_zh if lang == "zh-CN" else receipt.item_en,
        test_mode=receipt.test_mode, html_url=f"{base}.html", pdf_url=f"{base}.pdf")


@router.get("/{order_id}/receipt", response_model=ReceiptOut)
def receipt_json(order_id: DbId, request: Request, lang: str | None = Lang,
                 user: User = Depends(current_user), db: Database = Depends(database)
                 ) -> ReceiptOut:
    """The order's receipt; 404 ``receipt_not_found`` until the order is paid."""
    receipt, _, _ = _load(db, user, order_id)
    return _out(receipt, _lang(request, lang))


@router.get("/{order_id}/receipt.html", response_class=HTMLResponse)
def receipt_html(order_id: DbId, request: Request, lang: str | None = Lang,
                 user: User = Depends(current_user), db: Database = Depends(database)
                 ) -> HTMLResponse:
    """The printable receipt page (mobile-friendly; the print view hides the buttons)."""
    receipt, order, line = _load(db, user, order_id)
    chosen = _lang(request, lang)
    pdf = f"/api/v1/orders/{order_id}/receipt.pdf?lang={chosen}"
    return HTMLResponse(receipts.render_html(receipt, order, line, chosen, pdf_href=pdf),
                        headers=PRIVATE)


@router.get("/{order_id}/receipt.pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
def receipt_pdf(order_id: DbId, request: Request, lang: str | None = Lang,
                user: User = Depends(current_user), db: Database = Depends(database)
                ) -> Response:
    """The receipt as a PDF download named after its number."""
    receipt, order, line = _load(db, user, order_id)
    body = receipts.render_pdf(receipt, order, line, _lang(request, lang))
    disposition = f'attachment; filename="receipt-{receipt.number}.pdf"'
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": disposition, **PRIVATE})
