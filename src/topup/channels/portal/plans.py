"""Plans by country or region with search, and choosing how to pay for one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.catalog import service as catalog
from topup.catalog.compare import MAX_COMPARED, PerUnit, per_unit
from topup.catalog.quotes import Quote, price
from topup.channels.api.bounds import DbId
from topup.channels.portal.groups import shared_group
from topup.channels.portal.payment import method_choices
from topup.channels.portal.topup import CHANNEL
from topup.channels.portal.views import balances, owned_line
from topup.channels.portal.web import Form, PortalRoute, Web, posted, signed_in, web
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.promotions import store as promotions
from topup.subscribers import lines as line_svc
from topup.subscribers.groups import Group
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _zones(w: Web) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with w.db.unit(readonly=True) as uow:
        every = catalog.list_zones(uow)
    key = "name_zh" if w.t.lang == "zh-CN" else "name_en"
    named = [{"code": z["code"], "kind": z["kind"], "name": z[key]} for z in every]
    countries = sorted((z for z in named if z["kind"] == "country"), key=lambda z: z["name"])
    return countries, [z for z in named if z["kind"] != "country"]


def buyer_line(w: Web, wanted: int | None) -> tuple[list[Line], Line | None]:
    """The signed-in traveller's lines and the one they shop for (the only one, or chosen)."""
    if w.user is None:
        return [], None
    with w.db.unit(readonly=True) as uow:
        mine = line_svc.lines_of(uow, w.user.id)
    chosen = next((x for x in mine if x.id == wanted), None)
    if chosen is None and len(mine) == 1:
        chosen = mine[0]
    return mine, chosen


@router.get("/plans")
def plans(country: str = "", zone: str = "", q: str = "", line: int | None = None,
          w: Web = Depends(web)) -> Response:
    """Plans on sale, filtered by country (which includes the regions covering it), region
    or a search; prices in the chosen line's currency."""
    mine, chosen = buyer_line(w, line)
    country = country.strip().upper()[:2]
    zone = zone.strip().upper()[:20]
    currency = chosen.currency if chosen else (
        w.user.currency if w.user else w.db.settings.default_currency)
    with w.db.unit(readonly=True) as uow:
        found = catalog.list_plans(
            uow, country=country or None, zone=zone or None, q=q.strip()[:60] or None,
            currency=chosen.currency if chosen else None, on_sale_at=uow.now)
        quotes = plan_quotes(uow, found, currency, w.user.id if w.user else None)
        ends = {f"campaign:{k.campaign.id}": k.campaign.ends_at
                for k in promotions.live(uow, uow.now)}
    countries, regions = _zones(w)
    return w.page("plans.html", plans=found, quotes=quotes, offer_ends=ends,
                  per=per_units(found, quotes), most=MAX_COMPARED, countries=countries,
                  regions=regions, lines=mine, chosen=chosen, currency=currency,
                  filters={"country": country, "zone": zone, "q": q.strip()[:60]})


def plan_quotes(uow: UnitOfWork, found: list[catalog.Plan], currency: str,
                customer: int | None) -> dict[int, Quote]:
    """The price service's quote of each plan sold in ``currency``, by plan id (a plan
    not sold in it has none: the page shows a dash)."""
    return {plan.id: price(uow, plan, currency, uow.now, CHANNEL, customer=customer)
            for plan in found if currency in plan.prices}


def per_units(found: list[catalog.Plan], quotes: dict[int, Quote]) -> dict[int, PerUnit]:
    """What each quoted plan's price comes to per GB and per day, by plan id."""
    return {plan.id: per_unit(plan, quotes[plan.id]) for plan in found if plan.id in quotes}


def _plan_page(w: Web, line: Line, plan_id: int, form: Form, status: int = 200,
               group: Group | None = None) -> Response:
    quoted = None
    with w.db.unit(readonly=True) as uow:
        plan = catalog.get_plan(uow, plan_id)
        wallet = balances(uow, line)[0]
        try:
            quoted = price(uow, plan, line.currency, uow.now, CHANNEL,
                           customer=line.customer_id)
        except TopupError as exc:
            form.refuse(w.t, exc)
    shown = quoted.money(quoted.total) if quoted else None
    return w.page("plan.html", status=status, line=line, plan=plan, price=shown, quote=quoted,
                  per=per_unit(plan, quoted) if quoted else None,
                  wallet=wallet, methods=method_choices(w, "plan", line.currency), form=form,
                  group=group)


@router.get("/lines/{line_id}/plans/{plan_id}")
def plan_page(line_id: DbId, plan_id: DbId, group: str = "", w: Web = Depends(signed_in)
              ) -> Response:
    """One plan for one line (or, with ``group``, for the group the line is in): what it
    gives, its price, and the ways to pay."""
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
        shared = shared_group(uow, w, group, line)
    return _plan_page(w, line, plan_id, Form({"method": "wallet"}), group=shared)


@router.post("/lines/{line_id}/plans/{plan_id}")
def choose_plan(line_id: DbId, plan_id: DbId, form: Form = Depends(posted),
                w: Web = Depends(signed_in)) -> Response:
    """Check the choice, then show the order summary to confirm."""
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
        shared = shared_group(uow, w, form.get("group"), line)
    if form.get("method") not in {name for name, _ in method_choices(w, "plan", line.currency)}:
        form.fail("method", w.t.gettext("Choose a payment method."))
        return _plan_page(w, line, plan_id, form, 422, shared)
    more = {"group": str(shared.id)} if shared else {}
    return w.redirect(f"/lines/{line.id}/checkout", kind="plan", plan_id=str(plan_id),
                      method=form.get("method"), **more)
