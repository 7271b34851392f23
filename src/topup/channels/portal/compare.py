"""/plans/compare: up to four plans side by side (price, data, validity, per GB, per day,
where they work), chosen with the check boxes of /plans; works without a script.

Prices are the price service's quotes (``plans.plan_quotes``), in the chosen line's currency
as on /plans; a wrong choice (none, more than four, no such plan) is said on the page.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from topup.catalog.compare import MAX_COMPARED, parse_ids, plans_to_compare
from topup.catalog.errors import InvalidComparison
from topup.channels.portal.i18n import N_
from topup.channels.portal.plans import buyer_line, per_units, plan_quotes
from topup.channels.portal.web import PortalRoute, Web, web

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
REFUSALS = {
    "none": N_("Tick at least one plan to compare."),
    "too_many": N_("Compare at most %(n)s plans at a time: untick some."),
    "bad_id": N_("This address does not name plans to compare."),
    "unknown": N_("One of these plans does not exist or is no longer on sale."),
}


@router.get("/plans/compare")
def compare_page(ids: list[str] = Query(default=[]), line: int | None = None,
                 w: Web = Depends(web)) -> Response:
    """The chosen plans side by side, priced in the chosen line's currency (else the
    traveller's, else the operator's default)."""
    mine, chosen = buyer_line(w, line)
    currency = chosen.currency if chosen else (
        w.user.currency if w.user else w.db.settings.default_currency)
    try:
        with w.db.unit(readonly=True) as uow:
            found = plans_to_compare(uow, parse_ids([i[:200] for i in ids[:20]]), uow.now)
            quotes = plan_quotes(uow, found, currency, w.user.id if w.user else None)
    except InvalidComparison as exc:
        reason = str(exc.extra.get("reason", "bad_id"))
        message = w.t.gettext(REFUSALS.get(reason, REFUSALS["bad_id"]), n=MAX_COMPARED)
        return w.page("compare.html", status=exc.status, plans=[], message=message,
                      chosen=chosen, currency=currency)
    return w.page("compare.html", plans=found, quotes=quotes, per=per_units(found, quotes),
                  chosen=chosen, currency=currency, message=None, lines=mine)
