"""Selling a scratch card at the counter: its serial number, then the receipt. The form sells
once, however often it is sent (a key of its own per rendered form)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.agents.topups import Seller
from topup.agents.voucher_sales import sell_voucher
from topup.channels.portal.web import Form, PortalRoute, Web, posted
from topup.channels.pos.pages import caller, page, refuse, seller
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.orders.idempotency import run_once

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def voucher_page(w: Web, form: Form, status: int = 200) -> Response:
    """The serial number form."""
    form.key("sale_key")
    return page(w, "pos/voucher.html", "voucher", status=status, form=form)


@router.get("/pos/voucher")
def voucher_form(w: Web = Depends(seller)) -> Response:
    """Sell a card: type or scan its serial number."""
    return voucher_page(w, Form({"serial": ""}))


@router.post("/pos/voucher")
def sell_card(form: Form = Depends(posted), w: Web = Depends(seller)) -> Response:
    """Activate the card paid from the float and show its receipt."""
    user = w.me()
    serial = form.get("serial")
    if not serial:
        form.fail("serial", w.t.gettext("Enter the serial number printed on the card."))
        return voucher_page(w, form, 422)

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        agent = caller(uow, w)
        done = sell_voucher(uow, Seller(agent.id, user.id), serial)
        return 201, {"sale_id": done.sale.id}

    try:
        outcome = run_once(w.db, user.id, form.get("sale_key"), "POST", "/pos/voucher",
                           {"serial": serial}, work, retry=True)
    except TopupError as exc:
        if exc.code == "idempotency_key_reused":  # an old form: a new one sells the new card
            form.key("sale_key", fresh=True)
        with w.db.unit(readonly=True) as uow:
            currency = caller(uow, w).currency
        refuse(w, form, exc, currency, "serial")
        return voucher_page(w, form, 422)
    return w.redirect(f"/pos/sales/{outcome.body['sale_id']}", notice="pos_sold")
