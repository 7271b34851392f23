"""The point of sale's first page: the agent, its float, today's sales, the two forms (a top-up,
a voucher card) and the last sales of the day."""

from __future__ import annotations

from babel.dates import format_date
from fastapi import APIRouter, Depends, Response

from topup.agents.floats import float_balance
from topup.agents.statements import day_bounds
from topup.agents.topups import sales_of
from topup.channels.portal.web import Form, PortalRoute, Web
from topup.channels.pos.pages import caller, page, sale_rows, seller
from topup.money import Money

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RECENT = 10


@router.get("/pos")
def home(w: Web = Depends(seller)) -> Response:
    """What the float holds, what was sold today (a UTC day, as the statement counts), and the
    forms to sell."""
    with w.db.unit() as uow:  # may open the float account on first use
        agent = caller(uow, w)
        balance = float_balance(uow, agent)
        today = uow.now.date()
        start, end = day_bounds(today)
        sales = sales_of(uow, agent.id, start=start, end=end)
        recent = sale_rows(uow, sales[::-1][:RECENT])
    card_form = Form({"serial": ""})
    card_form.key("sale_key")
    return page(w, "pos/home.html", "home", agent=agent, balance=balance, count=len(sales),
                total=Money(sum(s.amount for s in sales), agent.currency), recent=recent,
                today=format_date(today, "medium", locale=w.t.locale),
                form=Form({"number": "", "amount": ""}),
                example=Money(5000, agent.currency).text(),
                card_form=card_form)
