"""The receipt of one sale, to hand over or print: the sale's number and time, what was sold
(the line masked, or the card's serial), the amount, the commission and the float after it.
The seller's agent sees its own sales; a chain's staff also those of its stores."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.agents import agents as agent_svc
from topup.agents import kyc
from topup.agents.errors import AgentNotFound
from topup.agents.statements import float_after
from topup.agents.topups import find_sale
from topup.channels.api.bounds import DbId
from topup.channels.portal.web import PortalRoute, Web
from topup.channels.pos.pages import caller, masked, page, seller
from topup.db.uow import UnitOfWork
from topup.errors import NotFound
from topup.money import Money
from topup.orders import service as orders
from topup.subscribers import lines as line_svc
from topup.vouchers import service as vouchers

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


@router.get("/pos/sales/{sale_id}")
def receipt(sale_id: DbId, w: Web = Depends(seller)) -> Response:
    """One sale's receipt (a 404 page for a sale of another agent: staff learn nothing)."""
    def work(uow: UnitOfWork) -> dict[str, Any]:  # may open the float account on first use
        me = caller(uow, w)
        sale = find_sale(uow, sale_id)
        if sale is None:
            raise NotFound(f"no sale {sale_id}")
        try:
            agent = agent_svc.visible_agent(uow, me, sale.agent_id)
        except AgentNotFound:
            raise NotFound(f"no sale {sale_id}") from None
        line = line_svc.get_line(uow, sale.line_id) if sale.line_id is not None else None
        return {"sale": sale, "agent": agent, "line": line,
                "order": orders.get_order(uow, sale.order_id) if sale.order_id else None,
                "card": vouchers.get_voucher(uow, sale.voucher_serial)
                if sale.voucher_serial else None,
                "after": float_after(uow, sale), "document": kyc.record_of_sale(uow, sale.id),
                "line_shown": masked(line) if line else None}

    found = w.db.transact(work, what="sale receipt")
    sale, order = found["sale"], found["order"]
    credited = Money(order.credit_amount, order.credit_currency) \
        if order and order.credit_currency and order.credit_amount else None
    return page(w, "pos/receipt.html", "home", **found, credited=credited,
                amount=Money(sale.amount, sale.currency),
                commission=Money(sale.commission, sale.currency),
                zone=getattr(w.tz, "key", "UTC"))
