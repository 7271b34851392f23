"""The daily statement of the float: opening, fundings, sales by kind, commission, closing, and
the day's sales. A day is a UTC calendar day, as in the API; a chain's staff pick a store."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Depends, Query, Response

from topup.agents import agents as agent_svc
from topup.agents.errors import AgentNotFound
from topup.agents.statements import daily_statement, day_bounds
from topup.agents.topups import sales_of
from topup.channels.portal.web import Form, PortalRoute, Web
from topup.channels.pos.pages import caller, page, sale_rows, seller
from topup.db.uow import UnitOfWork

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _day(w: Web, form: Form, today: date) -> date:
    raw = form.get("date")
    if not raw:
        return today
    try:
        return date.fromisoformat(raw)
    except ValueError:
        form.fail("date", w.t.gettext("Enter a date such as %(example)s.",
                                      example=today.isoformat()))
        return today


@router.get("/pos/statement")
def statement(day_asked: str = Query("", alias="date"), agent: str = "",
              w: Web = Depends(seller)) -> Response:
    """``?date=YYYY-MM-DD`` (default: today, UTC) and, for a chain, ``?agent=<store id>``."""
    form = Form({"date": day_asked, "agent": agent})
    def work(uow: UnitOfWork) -> dict[str, Any]:  # may open the float account on first use
        me = caller(uow, w)
        if agent and not agent.isdigit():
            raise AgentNotFound(f"no agent {agent!r}")
        shown = agent_svc.visible_agent(uow, me, int(agent) if agent else None)
        stores = agent_svc.list_agents(uow, parent_id=me.id) if me.kind == "chain" else []
        today = uow.now.date()
        day = _day(w, form, today)
        start, end = day_bounds(day)
        return {"me": me, "shown": shown, "stores": stores, "today": today, "day": day,
                "st": daily_statement(uow, shown.id, day),
                "rows": sale_rows(uow, sales_of(uow, shown.id, start=start, end=end))}

    found = w.db.transact(work, what="float statement")
    day = found["day"]
    form.values["date"] = day.isoformat()
    form.values["agent"] = str(found["shown"].id)
    return page(w, "pos/statement.html", "statement", status=200 if form.ok else 422,
                form=form, **found, day_text=format_date(day, "full", locale=w.t.locale))
