"""Every link reachable from the menus, followed in chromium as each role: no page answers
5xx (nor any script, style or image it loads), no script throws, no link is dead.

Breadth-first over same-origin ``<a href>`` links from the home page, signed in through the
login form. Only links are followed (GET); forms are never submitted, and links that look
like they end or destroy something are not followed. Pages of one shape (the path with its
numbers as N, plus the query) are visited at most ``PER_SHAPE`` times, the crawl of a role
at most ``MAX_PAGES`` pages and ``MAX_SECONDS`` seconds.
"""

from __future__ import annotations

import re
import time
import uuid
import warnings
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from tests.browser.support import (
    ADMIN,
    NETWORK,
    TRAVELLER,
    Live,
    Watched,
    open_page,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Response

MAX_PAGES = 150
MAX_SECONDS = 60.0
PER_SHAPE = 2
NEVER = re.compile(r"log-?out|sign-?out|delete|remove|cancel|unbind|freeze|revoke|destroy",
                   re.IGNORECASE)
SUPPORT = ("support@example.com", "crawl-support-pass")
FINANCE = ("finance@example.com", "crawl-finance-pass")
AGENT = ("agent@example.com", "demo-agent-pass")  # the demo's kiosk assistant
ROLES = {"anonymous": None, "anonymous-zh": None, "customer": TRAVELLER,
         "customer-zh": TRAVELLER, "admin": ADMIN, "support": SUPPORT, "finance": FINANCE,
         "agent": AGENT}
# a visitor and a traveller whose browsers ask for Chinese
LOCALES = {"anonymous-zh": "zh-CN", "customer-zh": "zh-CN"}
ESIM = ("8944501234567890124", "7315")  # the demo eSIM line, unbound
MIN_PAGES = {"anonymous": 4, "anonymous-zh": 4, "customer": 20, "customer-zh": 20,
             "admin": 25, "support": 8, "finance": 12, "agent": 4}
# pages each crawl must reach from the menus (the help centre and its articles, its console)
MUST_REACH = {"anonymous": ("/help", "/help/official-channels", "/check"),
              "anonymous-zh": ("/help", "/help/install-esim"),
              "customer": ("/help", "/help/money-late", "/rates", "/trip", "/tickets"),
              "customer-zh": ("/help", "/rates", "/trip", "/tickets"),
              "admin": ("/admin/help", "/admin/help/money-late/zh-CN"),
              "support": ("/admin/help", "/admin/help/top-up/en", "/admin/tickets",
                          "/admin/tickets/report")}


@dataclass
class Crawl:
    """What one role's crawl met."""

    origin: str
    statuses: dict[str, int] = field(default_factory=dict)
    via: dict[str, str] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    shapes: Counter[str] = field(default_factory=Counter)
    cut_short: str = ""

    def on_response(self, response: Response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def links(self, page: Page) -> list[str]:
        hrefs: list[str] = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        found = []
        for href in hrefs:
            url = href.split("#", 1)[0]
            if url.startswith(self.origin + "/") and not NEVER.search(url):
                found.append(url)
        return found

    def worth_a_visit(self, url: str) -> bool:
        if url in self.statuses:
            return False
        parts = urlsplit(url)
        query = "&".join(f"{k}={re.sub(r'[0-9]+', 'N', v)}"
                         for k, v in sorted(parse_qsl(parts.query)))
        shape = re.sub(r"[0-9]+", "N", parts.path) + "?" + query
        self.shapes[shape] += 1
        return self.shapes[shape] <= PER_SHAPE


def visit(page: Page, url: str) -> int:
    """Open ``url`` in the page (a file download is fetched instead); its status."""
    try:
        response = page.goto(url, wait_until="load")
    except Exception as exc:  # Playwright's Error: a download is not a page
        if "Download is starting" not in str(exc):
            raise
        return page.request.get(url).status
    assert response is not None, url
    return response.status


def starts() -> list[str]:
    """Where a crawl starts: the home page, and pages reached only through a form (GET),
    filled in: the trip planner's answer for a trip from today (its buy and top-up links)."""
    today, later = date.today(), date.today() + timedelta(days=8)
    return ["/", f"/trip?c1=TH&f1={today}&l1={today + timedelta(days=2)}&c2=JP&f2={later}"
                 f"&l2={later + timedelta(days=3)}&use=normal"]


def crawl(page: Page, live: Live, start: str | None = None, limit: int = MAX_PAGES) -> Crawl:
    """Pages reached from ``start`` (else from each of ``starts()``), at most ``limit``."""
    found = Crawl(live.url)
    page.on("response", found.on_response)
    queue = deque((f"{live.url}{path}", "start")
                  for path in ([start] if start is not None else starts()))
    deadline = time.monotonic() + MAX_SECONDS
    while queue:
        if len(found.statuses) >= limit or time.monotonic() > deadline:
            found.cut_short = f"stopped after {len(found.statuses)} pages, {len(queue)} left"
            break
        url, via = queue.popleft()
        if not found.worth_a_visit(url):
            continue
        found.statuses[url], found.via[url] = visit(page, url), via
        if "text/html" in (page.evaluate("document.contentType") or ""):
            queue.extend((link, url) for link in found.links(page))
    return found


@pytest.fixture(scope="session")
def history(live: Live) -> None:
    """Once per server: the demo traveller gets the eSIM line too, and on the SIM line a paid
    top-up (with a receipt), a plan, usage and a support request, so that their pages and
    links are there; and a support and a finance login."""
    with live.api(TRAVELLER) as me:
        r = me.post("/api/v1/lines/bind", json={"identifier": ESIM[0], "secret": ESIM[1]})
        assert r.status_code == 200, r.text
        [line] = [x for x in me.get("/api/v1/lines").json() if x["currency"] == "CNY"]
        r = me.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
            "line_id": line["id"], "kind": "topup", "method": "sandbox", "amount": 50_00,
            "confirm_duplicate": True})
        assert r.status_code == 201, r.text
        paid = httpx.post(r.json()["next_action"]["value"] + "/approve", timeout=10)
        assert paid.status_code == 200, paid.text
        plan = next(p for p in me.get("/api/v1/plans", params={"country": "TH"}).json()
                    if p["code"] == "TH-1D-1GB")
        r = me.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
            "line_id": line["id"], "kind": "plan", "plan_id": plan["id"], "method": "wallet",
            "confirm_duplicate": True})
        assert r.status_code == 201, r.text
        # a support request about the line: its page, and the console's queue and ticket
        r = me.post("/api/v1/tickets", json={"subject": "Crawl", "body": "Is roaming on?",
                                             "line_id": line["id"]})
        assert r.status_code == 201, r.text
    with live.api(ADMIN) as admin:
        for email, password in (SUPPORT, FINANCE):
            r = admin.post("/api/v1/admin/staff", json={
                "email": email, "password": password, "role": email.split("@")[0]})
            assert r.status_code == 201, r.text
    with live.api(NETWORK) as net:
        r = net.post("/api/v1/usage", json={
            "record_id": f"crawl-{uuid.uuid4().hex}", "line": line["iccid"], "unit": "data",
            "quantity": 200 * 1024**2, "country": "TH",
            "occurred_at": datetime.now(UTC).isoformat()})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("role", list(ROLES))
def test_every_link_from_the_menus_answers(role: str, browser: Browser, live: Live,
                                          history: None) -> None:
    watched = Watched()
    page = open_page(browser, live, watched, locale=LOCALES.get(role, "en-US"))
    try:
        login = ROLES[role]
        if login:
            sign_in(page, login)
        if login and role.endswith("-zh"):  # a traveller's pages come in their own language
            page.locator('#switch-language[value="zh-CN"]').click()
        if role.endswith("-zh"):
            page.goto("/")
            assert (page.get_attribute("html", "lang") or "").startswith("zh"), role
        found = crawl(page, live)
    finally:
        if login and role.endswith("-zh"):  # the demo traveller is English to other tests
            page.goto("/")
            page.locator('#switch-language[value="en"]').click()
        page.context.close()
    seen = "\n".join(f"  {s} {u} (from {found.via[u]})" for u, s in found.statuses.items())
    assert found.server_errors == [], f"{role}: 5xx answers: {found.server_errors}\n{seen}"
    assert watched.js_errors == [], f"{role}: script errors: {watched.js_errors}"
    dead = [f"{u} (from {found.via[u]})" for u, s in found.statuses.items() if s == 404]
    assert dead == [], f"{role}: dead links: {dead}"
    assert len(found.statuses) >= MIN_PAGES[role], f"{role} reached too little:\n{seen}"
    missed = [p for p in MUST_REACH.get(role, ()) if f"{live.url}{p}" not in found.statuses]
    assert missed == [], f"{role} did not reach {missed}:\n{seen}"
    assert watched.external == [], f"{role}: requests off this machine: {watched.external}"
    if found.cut_short:
        warnings.warn(f"crawl as {role} {found.cut_short}", stacklevel=1)


# Pages reached through a form rather than a link (a country picked, plans ticked), as the
# crawl would meet them: from there on, every link answers, in both languages.
FORM_PAGES = ("/rates?country=JP&currency=CNY", "/rates?country=ZZ", "/plans/compare?ids=1,2,3",
              "/plans/compare?ids=1,2,3,4,5")


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
@pytest.mark.parametrize("start", FORM_PAGES)
def test_pages_behind_forms_answer_in_both_languages(start: str, locale: str, browser: Browser,
                                                     live: Live) -> None:
    watched = Watched()
    page = open_page(browser, live, watched, locale=locale)
    try:
        found = crawl(page, live, start, limit=25)
    finally:
        page.context.close()
    first = found.statuses[f"{live.url}{start}"]
    assert first == (404 if "ZZ" in start else 422 if "4,5" in start else 200), start
    assert found.server_errors == [], found.server_errors
    assert watched.js_errors == [], watched.js_errors
    dead = [u for u, s in found.statuses.items() if s == 404 and u != f"{live.url}{start}"]
    assert dead == [], dead
