"""eSIM stock in the console: profiles per pool and state (with the low-stock threshold and
the pools the SM-DP+ fills at the sale), and the latest moves of profiles (reservations,
sales, the SM-DP+'s download reports)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from sqlalchemy import select

from topup.channels.admin.pages import page
from topup.channels.portal.web import PortalRoute, Web, allowed
from topup.esim.inventory import stock
from topup.esim.tables import esim_profile_events as events
from topup.esim.tables import esim_profiles as profiles

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
READ = allowed("catalog.read")
LATEST = 50


@router.get("/admin/esim")
def esim_page(w: Web = Depends(READ)) -> Response:
    """Stock per pool and the latest moves of profiles."""
    with w.db.unit(readonly=True) as uow:
        pools = stock(uow)
        moves = uow.conn.execute(
            select(events.c.at, events.c.source, events.c.point, events.c.status,
                   events.c.detail, profiles.c.iccid, profiles.c.line_id)
            .join(profiles, profiles.c.id == events.c.profile_id)
            .order_by(events.c.id.desc()).limit(LATEST)).all()
    filled = {(t, z) for t, z in w.db.settings.esim_on_demand}
    for pool in pools:
        pool["on_demand"] = (pool["profile_type"], pool["zone"]) in filled
    for ptype, zone in sorted(filled - {(p["profile_type"], p["zone"]) for p in pools}):
        pools.append({"profile_type": ptype, "zone": zone, "on_demand": True,
                      **dict.fromkeys(("available", "reserved", "assigned", "installed",
                                       "failed", "deleted"), 0)})
    return page(w, "admin/esim.html", "esim", pools=pools, moves=moves,
                threshold=w.db.settings.esim_low_stock)
