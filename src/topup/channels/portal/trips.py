"""/trip: the trip planner. Countries with dates and an expected use in, the cheapest plans
that cover every day out, each with its start day, price and when to buy it; public.

A signed-in traveller with a line buys the plans to buy today in one go from the line's
wallet ("Buy all": one order per plan, all in one unit of work, so all or none); a plan whose
validity starts at purchase and whose first day is later is bought on that day (the page
links to it). When the wallet is short, the page says by how much and links to a top-up.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Depends, Response

from topup.catalog import service as catalog
from topup.catalog import trip_plans
from topup.catalog.trips import Leg
from topup.catalog.zones import country_name
from topup.channels.portal.topup import CHANNEL
from topup.channels.portal.views import balances, owned_line
from topup.channels.portal.web import Form, PortalRoute, Web, posted, web
from topup.errors import TopupError
from topup.money import Money
from topup.orders import service as orders
from topup.orders.idempotency import run_once
from topup.orders.model import OrderRequest
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
ROWS = range(1, trip_plans.MAX_LEGS + 1)
FIELDS = ("line", "currency", "use", "mb", *(f"{p}{n}" for n in ROWS for p in "cfl"))


def _countries(w: Web) -> list[tuple[str, str]]:
    """Every country some zone covers, by its name in the page's language."""
    with w.db.unit(readonly=True) as uow:
        codes = {c for z in catalog.list_zones(uow) for c in z["countries"]}
    return sorted(((c, country_name(c, w.t.lang)) for c in codes), key=lambda x: x[1])


def _legs(w: Web, form: Form) -> list[Leg]:
    """The filled rows as legs; a half-filled row is marked at its field."""
    legs = []
    for n in ROWS:
        row = [form.get(f"{p}{n}") for p in "cfl"]
        if not any(row):
            continue
        missing = next((f"{p}{n}" for p, v in zip("cfl", row, strict=True) if not v), None)
        if missing:
            form.fail(missing, w.t.gettext("Choose the country and both dates of this leg."))
            continue
        try:
            legs.append(trip_plans.leg(*row))
        except TopupError as exc:
            form.refuse(w.t, exc, f"c{n}")
    if not legs and form.ok:
        form.fail("c1", w.t.gettext("Add at least one country with its dates."))
    return legs


def _use(w: Web, form: Form) -> int | None:
    try:
        return trip_plans.daily_use(form.get("mb") if form.get("use") == "mb" else
                                    form.get("use") or "normal")
    except TopupError as exc:
        form.refuse(w.t, exc, "mb")
        return None


def _line(w: Web, wanted: str) -> tuple[list[Line], Line | None]:
    if w.user is None:
        return [], None
    with w.db.unit(readonly=True) as uow:
        mine = line_svc.lines_of(uow, w.user.id)
    chosen = next((x for x in mine if str(x.id) == wanted), mine[0] if mine else None)
    return mine, chosen


def _currency(w: Web, wanted: str) -> str:
    """The prices' currency without a line: the one chosen, else the visitor's own."""
    offered = w.db.settings.currencies
    mine = w.user.currency if w.user else w.db.settings.default_currency
    return wanted.upper() if wanted.upper() in offered else (
        mine if mine in offered else offered[0])


def _plan(w: Web, form: Form, line: Line | None) -> tuple[trip_plans.Trip | None, Money | None]:
    """The trip's plans, and the line's wallet when a line is chosen."""
    legs, mb = _legs(w, form), _use(w, form)
    if not form.ok or mb is None:
        return None, None
    currency = line.currency if line else _currency(w, form.get("currency"))
    try:
        with w.db.unit(readonly=True) as uow:
            trip = trip_plans.plan(uow, legs, mb, currency, uow.now, CHANNEL,
                                   customer=line.customer_id if line else None)
            wallet = balances(uow, line)[0] if line else None
    except TopupError as exc:
        form.refuse(w.t, exc, "c1")
        return None, None
    return trip, wallet


def _page(w: Web, form: Form, status: int = 200) -> Response:
    mine, line = _line(w, form.get("line"))
    trip, wallet = _plan(w, form, line) if any(form.get(f"c{n}") for n in ROWS) else (None,
                                                                                     None)
    today = w.db.clock().date()
    now = [x for x in trip.items if x.buy_on <= today] if trip else []
    due = sum(x.quote.total for x in now)
    filled = max([n for n in ROWS if any(form.get(f"{p}{n}") for p in "cfl")], default=0)
    form.key("order_key")
    return w.page("trip.html", status=status, form=form, countries=_countries(w),
                  rows=list(ROWS)[:min(trip_plans.MAX_LEGS, max(filled + 2, 3))],
                  carried={k: form.get(k) for k in FIELDS if k != "line" and form.get(k)},
                  currencies=w.db.settings.currencies,
                  currency=_currency(w, form.get("currency")), trip=trip, lines=mine,
                  line=line, wallet=wallet, buy_now=now,
                  due=Money(due, trip.currency) if trip else None, uses=trip_plans.USES,
                  where=[_names(w, x.cells) for x in trip.items] if trip else [],
                  missing=_names(w, tuple((today, c) for c in trip.uncovered))
                  if trip else "", today=today,
                  date=lambda d: format_date(d, "medium", locale=w.t.locale))


def _names(w: Web, cells: tuple[tuple[date, str], ...]) -> str:
    """The countries of a plan's days, in trip order, named in the page's language."""
    seen = list(dict.fromkeys(c for _, c in cells))
    return ", ".join(country_name(c, w.t.lang) for c in seen)


@router.get("/trip")
def trip_page(w: Web = Depends(web)) -> Response:
    """The form and, once a leg is filled, the cheapest plans for the trip."""
    values = {k: str(w.request.query_params.get(k, ""))[:40] for k in FIELDS}
    return _page(w, Form(values))


@router.post("/trip/buy")
def buy_all(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """Buy today's plans of the trip from the chosen line's wallet, once per page."""
    if w.user is None:
        return w.redirect("/login", next="/trip")
    user, wanted_line = w.me(), form.get("line")
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, user, int(wanted_line)
                          if wanted_line.isdigit() and len(wanted_line) < 18 else 0)
    trip, _ = _plan(w, form, line)
    if trip is None or not trip.covered:
        return _page(w, form, 422)
    today = w.db.clock().date()
    wanted = [x.plan.id for x in trip.items if x.buy_on <= today]
    if str(trip.total.amount) != form.get("total") or not wanted:
        form.fail("", w.t.gettext("The prices or plans changed; check the new plan and buy "
                                  "again."))
        return _page(w, form, 409)

    def work(uow: Any) -> tuple[int, Any]:
        mine = owned_line(uow, user, line.id)
        made = [orders.create_order(uow, user.id, mine, OrderRequest(
            kind="plan", method="wallet", channel=CHANNEL, plan_id=plan_id,
            language=w.t.lang, confirm_duplicate=plan_id in wanted[:n]))
            for n, plan_id in enumerate(wanted)]  # a plan twice in the trip is meant twice
        return 201, {"orders": [o.id for o in made]}

    try:
        run_once(w.db, user.id, form.get("order_key"), "POST", "/portal/trip",
                 {"line": line.id, "plans": wanted, "total": trip.total.amount}, work,
                 retry=True)  # plans paid from the wallet: database writes only
    except TopupError as exc:
        form.refuse(w.t, exc)
        return _page(w, form, exc.status)
    return w.redirect(f"/lines/{line.id}")
