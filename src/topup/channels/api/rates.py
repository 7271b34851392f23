"""/rates and /rates/countries: what data, calls and SMS cost outside a plan, per country,
in a currency the operator sells; public, as the catalogue is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from topup.catalog import places
from topup.catalog import rates as catalog_rates
from topup.channels.api.deps import database
from topup.channels.api.messages import language_of
from topup.db.uow import Database

router = APIRouter(tags=["catalog"])
BABEL = {"en": "en", "zh-CN": "zh_CN"}


@router.get("/rates")
def rates(request: Request,
          country: str = Query(..., min_length=1, max_length=8,
                               description="ISO 3166-1 alpha-2 code of the country"),
          currency: str | None = Query(None, description="A currency the operator sells; "
                                       "the operator's default when left out"),
          db: Database = Depends(database)) -> dict[str, Any]:
    """Out-of-bundle rates in ``country``: per MB of data, per minute of calls, per SMS
    (``amount`` in minor units, ``display`` formatted in the caller's language; ``rate`` per
    ``per_quantity`` bytes, seconds or messages as charged). A unit without a rate is null:
    its use outside a plan is refused. 404 ``rates_not_found`` for a country without rates."""
    lang = language_of(request)
    with db.unit(readonly=True) as uow:
        found = catalog_rates.country_rates(uow, country, currency or db.settings.default_currency)
        name = places.place_names(uow, lang, [found.country])[found.country]
    return {"country": found.country, "name": name, "currency": found.currency,
            "rates": {unit: None if r is None else {
                "per": r.per, "amount": r.amount, "display": r.money.format(BABEL[lang]),
                "rate": r.rate, "per_quantity": r.per_quantity}
                for unit, r in found.units.items()}}


@router.get("/rates/countries")
def rated_countries(request: Request,
                    currency: str | None = Query(None, description="Only countries with "
                                                 "rates in this currency"),
                    db: Database = Depends(database)) -> list[dict[str, str]]:
    """The countries with out-of-bundle rates, each with its name in the caller's language,
    sorted by code."""
    lang = language_of(request)
    with db.unit(readonly=True) as uow:
        codes = catalog_rates.rated_countries(uow, currency)
        names = places.place_names(uow, lang, codes)
    return [{"code": c, "name": names[c]} for c in codes]
