"""How later sections slot in: a role-gated router with its own menu entry (the admin console
under /admin and the agent POS under /pos will be built this way)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from tests.factories import make_user
from tests.integration.portal.conftest import PASSWORD, Browser
from topup.channels.portal import rendering
from topup.channels.portal.rendering import MenuItem
from topup.channels.portal.web import PortalRoute, Web, requires
from topup.db.uow import Database


def test_a_role_gated_section_with_its_menu_entry(db: Database) -> None:
    section = APIRouter(route_class=PortalRoute)

    @section.get("/admin/probe")
    def probe(w: Web = Depends(requires("admin"))) -> Response:
        return w.page("error.html", message=f"staff {w.me().id}", status_code=200)

    item = MenuItem("/admin/probe", "Settings", frozenset({"admin"}), "admin-probe")
    rendering.add_menu_item(item)
    try:
        b = Browser(db)
        b.client.app.include_router(section)  # type: ignore[attr-defined]
        assert b.get("/admin/probe", follow_redirects=False).headers["location"] == (
            "/login?next=/admin/probe")
        traveller = make_user(db)
        b.login(str(traveller.email), PASSWORD)
        refused = b.get("/admin/probe")
        assert refused.status_code == 403
        assert "This page is not available to your account." in refused.text
        assert 'data-menu="admin-probe"' not in b.get("/").text
        staff = Browser(db)
        staff.client.app.include_router(section)  # type: ignore[attr-defined]
        admin = make_user(db, "admin")
        staff.login(str(admin.email), PASSWORD)
        assert staff.get("/admin/probe").text.count(f"staff {admin.id}") == 1
        assert 'data-menu="admin-probe"' in staff.get("/").text
    finally:
        rendering.MENU.remove(item)
