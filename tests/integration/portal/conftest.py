"""Fixtures for the portal: a browser-like client (cookies, CSRF tokens read from the pages),
the demo catalogue, and the sandbox payment provider."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.client_support import Client
from tests.factories import make_line
from topup.channels.api.app import create_app
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.payments.providers.sandbox import SandboxProvider
from topup.subscribers.lines import Line

PASSWORD = "correct-horse-battery"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The form token a page carries."""
    found = TOKEN.search(html)
    assert found, "the page has no form token"
    return found.group(1)


def hidden(html: str, name: str) -> str:
    """A hidden field's value."""
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


class Browser:
    """A TestClient that behaves like one browser: it keeps cookies, reads each form's token
    from the page it GETs, and posts the form as a browser would."""

    def __init__(self, db: Database, providers: dict[str, Any] | None = None,
                 lang: str = "en") -> None:
        self.db = db
        self.client = Client(create_app(db, providers), raise_server_exceptions=False,
                             headers={"Accept-Language": lang})

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def submit(self, page: str, action: str, data: dict[str, str], **kw: Any
               ) -> httpx.Response:
        """GET ``page``, then POST ``data`` with its form token to ``action``."""
        shown = self.get(page)
        assert shown.status_code == 200, (page, shown.status_code, shown.text[:300])
        return self.client.post(action, data={"csrf_token": csrf_of(shown.text), **data}, **kw)

    def register(self, email: str | None = None, password: str = PASSWORD) -> str:
        email = email or f"t-{uuid.uuid4().hex[:8]}@example.com"
        r = self.submit("/register", "/register", {
            "email": email, "password": password, "password_confirm": password})
        assert r.status_code == 200 and r.url.path == "/lines/bind", r.text[:500]
        return email

    def login(self, login: str, password: str = PASSWORD) -> httpx.Response:
        return self.submit("/login", "/login", {"login": login, "password": password})

    def bind(self, line: Line, secret: str = "2718") -> httpx.Response:
        return self.submit("/lines/bind", "/lines/bind",
                           {"identifier": line.iccid, "secret": secret})


@dataclass
class Shop:
    """A traveller with a bound line on a portal that pays through the sandbox."""

    browser: Browser
    line: Line
    email: str
    sandbox: SandboxProvider
    db: Database

    def new_browser(self, lang: str = "en") -> Browser:
        return Browser(self.db, {"sandbox": self.sandbox}, lang)


def open_shop(db: Database, lang: str = "en", **line: Any) -> Shop:
    """The demo catalogue, the sandbox, a line in Thailand paid in CNY, and its traveller."""
    with db.unit() as uow:
        seed_catalog(uow)
    sandbox = SandboxProvider(db, db.settings.secret_key, "http://testserver")
    browser = Browser(db, {"sandbox": sandbox}, lang)
    made = make_line(db, secret="2718", country=line.pop("country", "TH"), **line)
    email = browser.register()
    assert browser.bind(made).url.path == f"/lines/{made.id}"
    return Shop(browser, made, email, sandbox, db)


@pytest.fixture
def shop(db: Database) -> Shop:
    """A signed-in traveller with a bound line, the catalogue, and the sandbox."""
    return open_shop(db)


def plan_id(db: Database, code: str) -> int:
    """The id of a demo plan."""
    from topup.catalog import service as catalog

    with db.unit(readonly=True) as uow:
        return catalog.get_plan_by_code(uow, code).id


def credit(db: Database, line: Line, amount: int, currency: str = "CNY") -> None:
    """Staff credit cash to the line's wallet (the cash desk)."""
    from topup.orders.model import OrderRequest
    from topup.orders.service import create_order
    from topup.subscribers.lines import get_line

    with db.unit() as uow:
        create_order(uow, None, get_line(uow, line.id), OrderRequest(
            kind="topup", method="manual", channel="admin", currency=currency, amount=amount,
            reason="cash desk", confirm_duplicate=True))


def use(db: Database, line: Line, quantity: int, record: str, when: Any = None,
        country: str = "TH") -> None:
    """The network reports data used by the line."""
    from topup.charging.service import record_usage
    from topup.subscribers.lines import get_line

    with db.unit() as uow:
        record_usage(uow, record, get_line(uow, line.id), "data", quantity, country,
                     when or uow.now)


def summary(b: Browser, line: Line, **params: str) -> httpx.Response:
    """The order summary page for ``params`` (kind, amount or plan_id, method)."""
    return b.get(f"/lines/{line.id}/checkout", params=params)


def confirm(b: Browser, line: Line, page: httpx.Response, **extra: Any) -> httpx.Response:
    """Press "Submit" on a summary page, as its form says."""
    fields = {"csrf_token": csrf_of(page.text)}
    for name in ("order_key", "kind", "method", "amount", "plan_id", "code", "points"):
        found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
        if found:
            fields[name] = found.group(1)
    return b.client.post(f"/lines/{line.id}/checkout", data={**fields, **extra},
                         follow_redirects=False)


def approve(b: Browser, response: httpx.Response) -> httpx.Response:
    """Pay on the sandbox page the order redirected to, then follow "back to the order"."""
    location = response.headers["location"]
    assert "/sandbox/pay/" in location, location
    ref = location.rsplit("/", 1)[1]
    paid = b.client.post(f"/sandbox/pay/{ref}/approve")
    back = re.search(r'href="(/pay/return/[^"]+)"', paid.text)
    assert back, paid.text
    return b.get(back.group(1).replace("&amp;", "&"))
