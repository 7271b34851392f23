"""/rates: what data, calls and SMS cost outside a plan in a country, before a traveller uses
them; public, in the traveller's currency (one the operator sells) and language.

The figures are the catalogue's (``catalog.rates``), the same rates charging applies; a
country without rates, or a currency not sold, is said on the page, next to the picker.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from topup.catalog import places
from topup.catalog import rates as catalog_rates
from topup.channels.portal.web import Form, PortalRoute, Web, web
from topup.errors import TopupError

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _currency(w: Web, asked: str) -> str:
    """The asked currency, else the traveller's, else the operator's default."""
    if asked.strip():
        return asked.strip().upper()[:3]
    return w.user.currency if w.user else w.db.settings.default_currency


@router.get("/rates")
def rates_page(country: str = "", currency: str = "", w: Web = Depends(web)) -> Response:
    """The country and currency pickers and, with a country, its rates per MB, per minute
    and per SMS."""
    cc, cur = country.strip().upper()[:8], _currency(w, currency)
    form, found, status = Form({"country": cc, "currency": cur}), None, 200
    with w.db.unit(readonly=True) as uow:
        codes = catalog_rates.rated_countries(uow)
        names = places.place_names(uow, w.t.lang, codes)
        if cc:
            try:
                found = catalog_rates.country_rates(uow, cc, cur)
            except TopupError as exc:  # no rates there, or a currency not sold
                form.refuse(w.t, exc, "country")
                status = exc.status
    countries = sorted(({"code": c, "name": names[c]} for c in codes),
                       key=lambda z: z["name"])
    return w.page("rates.html", status=status, form=form, rates=found, countries=countries,
                  currencies=sorted(w.db.settings.currencies),
                  country_name=names.get(cc, cc))
