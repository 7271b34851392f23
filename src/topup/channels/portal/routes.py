"""Every page of the portal in one router (``app.include_router(portal.router)``), plus its
two static files under /static and what makes it an installable app (``pwa.py``). Later
sections (the admin console under /admin, the agent POS under /pos) add their own routers
and menu entries (``rendering.add_menu_item``)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from topup.channels.portal import (
    auth,
    autotopup,
    check,
    compare,
    groups,
    help_centre,
    history,
    lines,
    orders,
    plans,
    pwa,
    rates,
    settings,
    store,
    tickets,
    topup,
    trips,
    vouchers,
)
from topup.errors import NotFound

STATIC = Path(__file__).parent / "static"
TYPES = {"portal.css": "text/css; charset=utf-8",
         "portal.js": "text/javascript; charset=utf-8"}

router = APIRouter(include_in_schema=False)
# /plans/compare before any other /plans route that could take "compare" for a value
for module in (auth, lines, autotopup, compare, plans, store, topup, orders, vouchers, history,
               settings, groups, pwa, check, rates, help_centre, tickets, trips):
    router.include_router(module.router)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    """The portal's stylesheet and script (cached for a day)."""
    if name not in TYPES:
        raise NotFound()
    return FileResponse(STATIC / name, media_type=TYPES[name],
                        headers={"Cache-Control": "public, max-age=86400",
                                 "X-Content-Type-Options": "nosniff"})
