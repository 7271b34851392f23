"""/plans, /zones and /topup-options: the public catalogue."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from topup.catalog import service as catalog
from topup.catalog.quotes import price
from topup.channels.api.bounds import DbId
from topup.channels.api.deps import database
from topup.channels.api.messages import language_of
from topup.channels.api.schemas import PlanOut
from topup.channels.api.views import plan_out
from topup.db.uow import Database
from topup.money import Money, check_currency

router = APIRouter(tags=["catalog"])
CHANNEL = "api"  # as orders made through the API name their channel


@router.get("/plans", response_model=list[PlanOut])
def plans(request: Request,
          country: str | None = Query(None, min_length=2, max_length=2,
                                      description="ISO 3166-1 alpha-2; includes region plans"),
          zone: str | None = Query(None, description="A zone code such as EU or SEA"),
          currency: str | None = Query(None, description="Only plans priced in this currency"),
          kind: str | None = Query(None, description="day, week, month, quarter, year, addon"),
          q: str | None = Query(None, description="Search in codes and names"),
          db: Database = Depends(database)) -> list[PlanOut]:
    """Plans on sale now, country plans before region plans; with ``currency``, each with
    its price quote in it."""
    cur = check_currency(currency) if currency else None
    with db.unit(readonly=True) as uow:
        found = catalog.list_plans(
            uow, country=country.upper() if country else None, zone=zone,
            currency=cur, kind=kind, q=q, on_sale_at=uow.now)
        quotes = [price(uow, p, cur, uow.now, CHANNEL) if cur else None for p in found]
    lang = language_of(request)
    return [plan_out(p, lang, quoted) for p, quoted in zip(found, quotes, strict=True)]


@router.get("/plans/{plan_id}", response_model=PlanOut)
def plan(plan_id: DbId, request: Request,
         currency: str | None = Query(None, description="Quote its price in this currency"),
         db: Database = Depends(database)) -> PlanOut:
    """One plan; with ``currency``, its price quote now (refused when the plan is not on
    sale or not sold in that currency)."""
    with db.unit(readonly=True) as uow:
        found = catalog.get_plan(uow, plan_id)
        quoted = price(uow, found, check_currency(currency), uow.now, CHANNEL) \
            if currency else None
        return plan_out(found, language_of(request), quoted)


@router.get("/zones")
def zones(db: Database = Depends(database)) -> list[dict[str, Any]]:
    """Countries and regions with the countries each covers."""
    with db.unit(readonly=True) as uow:
        return catalog.list_zones(uow)


@router.get("/topup-options")
def topup_options(currency: str, country: str | None = None,
                  db: Database = Depends(database)) -> dict[str, Any]:
    """Preset amounts and the min/max of one top-up, in minor units."""
    cur = check_currency(currency)
    with db.unit(readonly=True) as uow:
        presets = catalog.presets(uow, cur)
        limit = catalog.topup_limit(uow, country.upper() if country else None, cur)
    return {
        "currency": cur,
        "presets": [{"amount": a, "display": Money(a, cur).text()} for a in presets],
        "min": limit[0], "max": limit[1],
    }
