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


def crawl(b: Browser, limit: int = 120, start: str = "/") -> dict[str, int]:
    """Breadth-first over same-site links from the home page (or ``start``); GET only."""
    seen: dict[str, int] = {}
    queue = deque([start])
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
                     f"/lines/{esim.id}/esim.svg", f"/lines/{line.id}/history?tab=usage",
                     "/tickets", "/tickets/new", f"/tickets/new?line={line.id}"):
        assert expected in visited, expected
    assert set(menu_links(b)) == {"/", "/store", "/plans", "/trip", "/topup", "/voucher",
                                  "/history", "/groups", "/help", "/tickets",
                                  "/settings"}


def test_visitors_and_staff_meet_no_error_either(shop: Shop) -> None:
    anon = Browser(shop.db)
    visited = crawl(anon)
    assert {p: s for p, s in visited.items() if s >= 400} == {}
    assert set(menu_links(anon)) == {"/store", "/plans", "/trip", "/rates", "/check", "/help",
                                     "/login", "/register"}
    admin = make_user(shop.db, "admin")
    staff = Browser(shop.db)
    assert staff.login(str(admin.email), PASSWORD).url.path == "/admin"  # the console
    visited = crawl(staff)
    assert {p: s for p, s in visited.items() if s >= 400} == {}
    assert f"/admin/lines/{shop.line.id}" in visited  # from the newest lines
    assert set(menu_links(staff)) == {"/admin", "/settings"}
    assert staff.get(f"/lines/{shop.line.id}").status_code == 404  # the traveller's page


TRIP = "/trip?c1=JP&f1=2026-11-22&l1=2026-11-29&c2=KR&f2=2026-12-05&l2=2026-12-06&use=light"


def test_the_trip_planner_and_its_links_answer_in_both_languages(shop: Shop) -> None:
    """The planner's result (buy now, buy later, top up first) and every link from it,
    signed in and out, in English and Chinese."""
    for lang in ("en", "zh-CN"):
        signed = shop.new_browser(lang)
        signed.login(shop.email)
        signed.submit("/settings", "/settings/language", {"language": lang})
        for b, words in ((Browser(shop.db, {}, lang), {"en": "Log in to buy these plans",
                                                       "zh-CN": "登录后购买这些套餐"}),
                         (signed, {"en": "Top up", "zh-CN": "充值"})):
            assert words[lang] in b.get(TRIP).text
            visited = crawl(b, 60, TRIP)
            assert visited[TRIP] == 200 and len(visited) > 3
            assert {p: s for p, s in visited.items() if s >= 400} == {}, lang
    assert "/trip" in menu_links(shop.browser)
