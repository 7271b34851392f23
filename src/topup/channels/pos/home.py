"""The point of sale's first page: the agent, its float, today's sales, the two forms (a top-up,
a voucher card) and the last sales of the day."""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from fastapi import APIRouter, Depends, Response

from topup.agents.agents import Agent
from topup.agents.floats import float_balance
from topup.agents.statements import day_bounds
from topup.agents.topups import Sale, sales_of
from topup.channels.portal.web import Form, PortalRoute, Web
from topup.channels.pos.pages import SaleRow, caller, page, sale_rows, seller
from topup.db.uow import UnitOfWork
from topup.money import Money

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
RECENT = 10


@router.get("/pos")
def home(w: Web = Depends(seller)) -> Response:
    """What the float holds, what was sold today (a UTC day, as the statement counts), and the
    forms to sell."""
    def work(uow: UnitOfWork) -> tuple[Agent, Money, date, list[Sale], list[SaleRow]]:
        agent = caller(uow, w)  # may open the float account on first use
        balance = float_balance(uow, agent)
        today = uow.now.date()
        start, end = day_bounds(today)
        sales = sales_of(uow, agent.id, start=start, end=end)
        return agent, balance, today, sales, sale_rows(uow, sales[::-1][:RECENT])

    agent, balance, today, sales, recent = w.db.transact(work, what="float account")
    card_form = Form({"serial": ""})
    card_form.key("sale_key")
    return page(w, "pos/home.html", "home", agent=agent, balance=balance, count=len(sales),
                total=Money(sum(s.amount for s in sales), agent.currency), recent=recent,
                today=format_date(today, "medium", locale=w.t.locale),
                form=Form({"number": "", "amount": ""}),
                example=Money(5000, agent.currency).text(),
                card_form=card_form)
