"""/check: anyone holding a scratch card sees whether it is genuine, unused and what it is
worth, without logging in, before paying a stranger for it; with a page on where to buy safely.

The check is the vouchers area's public one (``vouchers.public_check``): its state and face
value only, never a PIN, counted per address (too many checks: a wait, as the API answers 429).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from topup.channels.api.deps import client_ip
from topup.channels.portal.web import Form, PortalRoute, Web, web
from topup.errors import TopupError
from topup.vouchers import service as vouchers
from topup.vouchers.errors import VoucherNotFound

router = APIRouter(route_class=PortalRoute)
VERDICTS = {"active": "genuine", "used": "used", "reserved": "used", "expired": "expired",
            "blocked": "blocked"}  # any other state: not yet sold (a batch not activated)


@router.get("/check")
def check_page(serial: str = "", w: Web = Depends(web)) -> Response:
    """The form, and with ``serial`` the verdict: genuine and unused (with its value), used,
    expired, blocked, not yet on sale, or not one of ours."""
    typed = serial.strip()[:40]
    form, found, verdict, status = Form({"serial": typed}), None, None, 200
    if typed:
        try:
            found = vouchers.public_check(w.db, typed, client_ip(w.request))
            verdict = VERDICTS.get(found.state, "unsold")
        except VoucherNotFound:
            verdict = "unknown"
        except TopupError as exc:  # too many checks from this address, a malformed serial
            form.refuse(w.t, exc, "serial")
            status = exc.status
    return w.page("check.html", status=status, form=form, card=found, verdict=verdict,
                  hotline=w.db.settings.hotline_number)
