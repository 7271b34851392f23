"""/trips/plan: the trip planner, public like the plan list (it reads the catalogue only).

``legs`` is ``COUNTRY:FIRST:LAST`` separated by commas (ISO country codes and dates, both
days included), ``use`` a preset (light, normal, heavy) or MB a day, ``currency`` the prices'.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from topup.catalog import trip_plans
from topup.catalog.zones import country_name
from topup.channels.api.deps import database
from topup.channels.api.messages import language_of
from topup.channels.api.views import plan_out
from topup.db.uow import Database

router = APIRouter(tags=["catalog"])
CHANNEL = "api"


def _name(code: str, lang: str) -> dict[str, str]:
    return {"country": code, "name": country_name(code, lang)}


@router.get("/trips/plan")
def plan_trip(request: Request,
              legs: str = Query(..., max_length=400, description=(
                  "COUNTRY:FIRST:LAST legs separated by commas, e.g. "
                  "JP:2027-05-03:2027-05-10,KR:2027-05-10:2027-05-14")),
              use: str = Query("normal", max_length=12, description=(
                  "light (300 MB a day), normal (1000), heavy (3000) or MB a day")),
              currency: str = Query(..., min_length=3, max_length=3),
              db: Database = Depends(database)) -> dict[str, Any]:
    """The cheapest plans on sale that cover every day of the trip in every country of that
    day (a transit day in both) and the daily use, each with its start day and when to buy
    it, and their total; ``covered`` false with the ``uncovered`` countries when no plan
    serves one of them."""
    lang = language_of(request)
    wanted, mb = trip_plans.parse_legs(legs), trip_plans.daily_use(use)
    with db.unit(readonly=True) as uow:
        trip = trip_plans.plan(uow, wanted, mb, currency, uow.now, CHANNEL)
    out: dict[str, Any] = {
        "legs": [{**_name(x.country, lang), "first": x.first, "last": x.last}
                 for x in trip.legs],
        "use_mb_per_day": trip.use_mb, "currency": trip.currency, "covered": trip.covered,
        "uncovered": [_name(c, lang) for c in trip.uncovered],
        "total": trip.total.amount, "display": trip.total.text(),
        "items": [{"plan": plan_out(x.plan, lang, x.quote), "start": x.start, "end": x.end,
                   "buy_on": x.buy_on, "starts_on_first_use": x.first_use,
                   "days": [{"date": d, "country": c} for d, c in x.cells]}
                  for x in trip.items],
    }
    if not trip.covered:
        names = ", ".join(f"{n['name']} ({n['country']})" for n in out["uncovered"])
        out["detail"] = f"no plan covers {names} with {mb} MB a day"
    return out
