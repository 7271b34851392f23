"""Every link reachable from the portal's menus answers without a server error, for visitors,
travellers (with a line, orders and usage) and staff; the menu's own links all exist."""

from __future__ import annotations

import re
from collections import deque

from tests.factories import make_line, make_user
from tests.integration.portal.conftest import (
    PASSWORD,
    Browser,
    Shop,
    approve,
    confirm,
    credit,
    summary,
    use,
)

HREF = re.compile(r'href="(/[^"#]*)"')


def crawl(b: Browser, limit: int = 120) -> dict[str, int]:
    """Breadth-first over same-site links from the home page; GET only."""
    seen: dict[str, int] = {}
    queue = deque(["/"])
    while queue and len(seen) < limit:
        path = queue.popleft().replace("&amp;", "&")
        if path in seen or path.startswith("/api/") or path.endswith(".pdf"):
            continue
        r = b.get(path)
        seen[path] = r.status_code
        if "text/html" in r.headers.get("content-type", ""):
            queue.extend(p for p in HREF.findall(r.text) if p not in seen)
    return seen


def menu_links(b: Browser) -> list[str]:
    return re.findall(r'<a href="([^"]+)" data-menu=', b.get("/").text)


def test_every_page_reachable_from_the_menus_answers(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    credit(shop.db, line, 200_00)
    approve(b, confirm(b, line, summary(b, line, kind="topup", amount="10000",
                                        method="sandbox")))
    confirm(b, line, summary(b, line, kind="topup", amount="20000", method="sandbox"))
    use(shop.db, line, 1024 * 1024, "crawl-1")
    esim = make_line(shop.db, secret="3141", kind="esim", smdp_address="smdp.example.com",
                     matching_id="CRAWL-1")
    b.bind(esim, "3141")
    visited = crawl(b)
    assert len(visited) > 25
    errors = {p: s for p, s in visited.items() if s >= 500}
    assert errors == {}
    assert {p: s for p, s in visited.items() if s >= 400} == {}
    for expected in (f"/lines/{line.id}", f"/lines/{line.id}/topup", "/settings",
                     f"/lines/{esim.id}/esim.svg", f"/lines/{line.id}/history?tab=usage"):
        assert expected in visited, expected
    assert set(menu_links(b)) == {"/", "/store", "/plans", "/trip", "/topup", "/voucher",
                                  "/history",
                                  "/groups",
                                  "/settings"}


def test_visitors_and_staff_meet_no_error_either(shop: Shop) -> None:
    anon = Browser(shop.db)
    visited = crawl(anon)
    assert {p: s for p, s in visited.items() if s >= 400} == {}
    assert set(menu_links(anon)) == {"/store", "/plans", "/check", "/trip", "/login",
                                    "/register"}
    admin = make_user(shop.db, "admin")
    staff = Browser(shop.db)
    assert staff.login(str(admin.email), PASSWORD).url.path == "/admin"  # the console
    visited = crawl(staff)
    assert {p: s for p, s in visited.items() if s >= 400} == {}
    assert f"/admin/lines/{shop.line.id}" in visited  # from the newest lines
    assert set(menu_links(staff)) == {"/admin", "/settings"}
    assert staff.get(f"/lines/{shop.line.id}").status_code == 404  # the traveller's page
