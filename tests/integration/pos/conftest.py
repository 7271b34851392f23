"""A counter for the point-of-sale pages: the demo catalogue, a commission tier, an agent with
a funded float and a staff login signed in through the login form, lines to top up, and
helpers that read the ledger the way an auditor would (not through the pages)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from html import unescape

import httpx
import pytest

from tests.integration.portal.conftest import PASSWORD, Browser, csrf_of, hidden
from topup.agents import agents as agent_svc
from topup.agents.floats import float_account, fund_float
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.notifications.preferences import set_preferences
from topup.vouchers import service as vouchers
from topup.vouchers.generate import Card

TIER_BP = 150  # 1.5 % of each top-up
VOUCHER_BP = 300  # 3 % of each card


@dataclass
class Till:
    """One agent's counter: its id, its staff login and a browser signed in as that login."""

    db: Database
    agent_id: int
    email: str
    browser: Browser

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.browser.get(path, **kw)  # type: ignore[arg-type]

    def post(self, action: str, page: httpx.Response, data: dict[str, str]) -> httpx.Response:
        """Send the form of ``page`` (its CSRF token) with ``data``, as the browser would."""
        return self.browser.client.post(action, data={"csrf_token": csrf_of(page.text), **data},
                                        follow_redirects=False)

    def follow(self, response: httpx.Response) -> httpx.Response:
        assert response.status_code == 303, (response.status_code, response.text[:500])
        return self.get(response.headers["location"])

    def float_posted(self) -> int:
        """The float's posted balance, read from the ledger."""
        with self.db.unit() as uow:
            agent = agent_svc.get_agent(uow, self.agent_id)
            return ledger.balance(uow, float_account(uow, agent)).posted

    def topup_confirm(self, number: str, amount: str) -> httpx.Response:
        """Fill in the top-up form on /pos and arrive at the confirmation page."""
        home = self.get("/pos")
        assert home.status_code == 200, home.text[:500]
        return self.follow(self.post("/pos/topup", home, {"number": number, "amount": amount}))

    def confirm(self, page: httpx.Response, **extra: str) -> httpx.Response:
        """Press "Sell" on a confirmation page (the fields it carries, plus ``extra``)."""
        fields = {name: hidden(page.text, name) for name in ("sale_key", "number", "amount")}
        return self.post("/pos/topup/confirm", page, {**fields, **extra})


def wallet(db: Database, line_id: int, currency: str = "CNY") -> int:
    """The posted balance of a line's wallet."""
    with db.unit(readonly=True) as uow:
        found = ledger.wallets(uow, line_id).get(currency)
        return found.posted if found else 0


def open_till(db: Database, name: str = "Airport Kiosk", *, lang: str = "en",
              country: str = "HK", kind: str = "store", parent_id: int | None = None,
              fund: int = 500_00, zone: str | None = None) -> Till:
    """An agent in CNY on the standard tier with ``fund`` in its float, and its signed-in
    staff (in time zone ``zone``, if given)."""
    email = f"pos-{uuid.uuid4().hex[:8]}@example.com"
    with db.unit() as uow:
        seed_catalog(uow)
        agent_svc.set_tier(uow, "std", "Standard", TIER_BP, VOUCHER_BP, actor_id=None)
        agent = agent_svc.create_agent(uow, agent_svc.AgentSpec(
            kind=kind, name=name, tier="std", country=country, currency="CNY",
            parent_id=parent_id), actor_id=None)
        user = agent_svc.add_staff(uow, agent.id, email=email, password=PASSWORD,
                                   actor_id=None)
        if zone:
            set_preferences(uow, user.id, timezone=zone)
        if fund:
            fund_float(uow, agent.id, fund, key=f"opening-{agent.id}", reason="paid in cash",
                       actor_id=None)
    browser = Browser(db, lang=lang)
    assert browser.login(email).status_code == 200
    return Till(db, agent.id, email, browser)


@pytest.fixture
def till(db: Database) -> Till:
    """A Hong Kong kiosk with CN¥500.00 in its float, signed in."""
    return open_till(db)


@dataclass
class Sink:
    """Where generated cards go in tests (the PINs stay in memory)."""

    cards: list[Card] = field(default_factory=list)

    def write(self, cards: Sequence[Card]) -> None:
        self.cards.extend(cards)

    def close(self) -> list[object]:
        return []


def make_cards(db: Database, count: int = 3, face: int = 100_00,
               agent_id: int | None = None) -> list[Card]:
    """A generated batch, not activated: its cards go live one by one as they are sold."""
    with db.unit() as uow:
        batch = vouchers.create_batch(uow, vouchers.BatchSpec(
            count=count, face_amount=face, currency="CNY", agent_id=agent_id,
            distributor=None if agent_id else "Retail network",
            expires_at=uow.now + timedelta(days=365)), None)
    sink = Sink()
    vouchers.generate(db, batch.id, [sink], actor_id=None)  # type: ignore[list-item]
    return sink.cards


def error_of(html: str, name: str) -> str:
    """The error shown next to field ``name`` (empty when there is none)."""
    found = re.search(rf'<p class="error" id="e-{name}">([^<]*)</p>', html)
    return unescape(found.group(1)) if found else ""
