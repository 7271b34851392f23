"""Redeeming a scratch-card voucher onto one's line (wrong PINs are limited per line, account,
browser session and address by the voucher service)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import client_ip
from topup.channels.portal.views import owned_line
from topup.channels.portal.web import Form, PortalRoute, Web, posted, signed_in
from topup.errors import TopupError
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _page(w: Web, line: Line, form: Form, status: int = 200) -> Response:
    return w.page("voucher.html", status=status, line=line, form=form)


@router.get("/lines/{line_id}/voucher")
def voucher_page(line_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """The PIN form."""
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
    return _page(w, line, Form({}))


@router.post("/lines/{line_id}/voucher")
def redeem(line_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
           ) -> Response:
    """Redeem the PIN; the order it made shows what was credited or bought."""
    user = w.me()
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, user, line_id)
    pin = form.get("pin")
    if not pin:
        form.fail("pin", w.t.gettext("Enter the PIN from under the scratch panel."))
        return _page(w, line, form, 422)
    session = w.session.token_hash if w.session else ""
    context = vouchers.RedeemContext(channel="web", ip=client_ip(w.request),
                                     session=f"web:{session}", actor_id=user.id)
    try:
        done = vouchers.redeem(w.db, pin, line.id, context)
    except TopupError as exc:
        form.refuse(w.t, exc, "pin")
        return _page(w, line, form, exc.status)
    return w.redirect(f"/orders/{done.order_id}", notice="voucher")
