"""A line's history in three tabs, newest first and paged: orders (top-ups and plan
purchases, with receipts), usage reported by the network, and every movement of money and
allowances on the line's wallets and plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.catalog import service as catalog
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.payment import method_label
from topup.channels.portal.views import owned_line
from topup.channels.portal.web import PortalRoute, Web, signed_in
from topup.charging.service import usage_history
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.orders.refunds import order_refunds
from topup.orders.service import line_orders
from topup.receipts import service as receipts

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
PAGE = 20
TABS = ("orders", "usage", "movements")
MOVEMENTS = {
    "topup": N_("Top-up"), "plan_purchase": N_("Plan bought"), "plan_issue": N_("Plan started"),
    "usage": N_("Usage"), "usage_oob": N_("Usage outside plans"), "fee": N_("Fee"),
    "refund": N_("Refund"), "plan_refund": N_("Plan refunded"),
    "plan_take_back": N_("Plan taken back"), "late_payment": N_("Late payment credited"),
    "fx": N_("Currency conversion"), "breakage": N_("Expired unused"),
    "voucher_price_difference": N_("Voucher difference"),
}


@dataclass(frozen=True)
class Movement:
    """One ledger movement on the line: what, which unit, and how much in (+) or out (-)."""

    id: int
    at: datetime
    code: str
    unit: str
    amount: int


def _orders(uow: UnitOfWork, line_id: int, before: int | None, lang: str) -> list[Any]:
    rows = []
    for order in line_orders(uow, line_id, limit=PAGE, before=before):
        try:
            receipt = receipts.get_receipt(uow, order.id)
        except TopupError:
            receipt = None
        name = catalog.get_plan(uow, order.plan_id).name(lang) if order.plan_id else None
        rows.append({"order": order, "receipt": receipt, "plan_name": name,
                     "method": method_label(lang, order.method), **_refund_marks(uow, order.id)})
    return rows


def _refund_marks(uow: UnitOfWork, order_id: int) -> dict[str, int]:
    """What of an order was paid back, and what is on its way back (refunds not settled)."""
    done = pending = 0
    for r in order_refunds(uow, order_id):
        if r.state == "succeeded":
            done += r.amount
        elif r.state == "pending":
            pending += r.amount
    return {"refunded": done, "refunding": pending}


def movements(uow: UnitOfWork, line_id: int, before: int | None) -> list[Movement]:
    """A page of the line's ledger movements, newest first (``before``: an older page)."""
    mine = set(ledger.line_account_ids(uow, line_id))
    if not mine:
        return []
    found = ledger.account_transfers(uow, sorted(mine), limit=PAGE, before=before)
    return [Movement(t.id, t.created_at, t.code, t.unit,
                     t.amount if t.credit_account_id in mine else -t.amount) for t in found]


@router.get("/lines/{line_id}/history")
def history(line_id: DbId, tab: str = "orders", before: DbId | None = None,
            w: Web = Depends(signed_in)) -> Response:
    """One tab of the line's history; ``before`` pages back."""
    tab = tab if tab in TABS else "orders"
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
        rows: list[Any]
        if tab == "orders":
            rows = _orders(uow, line.id, before, w.t.lang)
            ids = [r["order"].id for r in rows]
        elif tab == "usage":
            pairs = usage_history(uow, line.id, limit=PAGE, before=before)
            rows, ids = [r for _, r in pairs], [i for i, _ in pairs]
        else:
            rows = movements(uow, line.id, before)
            ids = [m.id for m in rows]
    more = ids[-1] if len(ids) == PAGE else None
    return w.page("history.html", line=line, tab=tab, rows=rows, more=more,
                  movement_names=MOVEMENTS)
