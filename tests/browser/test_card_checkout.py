"""A traveller tops up by card in chromium: the portal sends them to Stripe's hosted page (the
local Stripe of ``stripe_checkout_peer``, on 127.0.0.1), they tick "save this card", a
declined card is refused there, a good one pays, they come back to their order credited,
Stripe's signed webhook reaches the real server, and the card is among their saved methods.

The server here is a ``topup serve`` of this module's own (SQLite), with ``stripe`` and
``stripe_checkout`` aimed at the stand-in, which POSTs its events to the server's webhook.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.support import (
    Live,
    Shooter,
    Watched,
    checked_page,
    expect,
    own_server,
    require_chromium,
    sign_in,
)
from tests.integration.payments.checkout_support import WEBHOOK_SECRET, env_for
from tests.integration.payments.stripe_checkout_peer import StripeCheckoutPeer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

SAVE = "Save this card for automatic renewals and top-ups"


@pytest.fixture(scope="module")
def stripe_peer() -> Iterator[StripeCheckoutPeer]:
    require_chromium()
    running = StripeCheckoutPeer().start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def card_live(stripe_peer: StripeCheckoutPeer, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[Live]:
    """``topup serve`` taking cards through the stand-in; its webhook registered there."""
    with own_server(tmp_path_factory.mktemp("card-live"), **env_for(stripe_peer),
                    TOPUP_PAYMENT_PROVIDERS="sandbox,stripe,stripe_checkout") as live:
        stripe_peer.add_endpoint(f"{live.url}/api/v1/webhooks/stripe_checkout", WEBHOOK_SECRET)
        yield live


@pytest.fixture
def card_page(browser: Browser, card_live: Live, watched: Watched) -> Iterator[Page]:
    with checked_page(browser, card_live, watched) as page:
        yield page


def traveller(live: Live) -> tuple[tuple[str, str], dict[str, Any]]:
    """A new account with a new CNY line bound to it: (login, line)."""
    line = live.new_line()
    login = (f"card-{uuid.uuid4().hex[:8]}@example.com", "far-away-travels")
    r = httpx.post(f"{live.url}/api/v1/auth/register", timeout=10,
                   json={"email": login[0], "password": login[1]})
    assert r.status_code == 201, r.text
    with live.api(login) as me:
        r = me.post("/api/v1/lines/bind", json={"identifier": line["iccid"],
                                                "secret": line["secret"]})
        assert r.status_code == 200, r.text
    return login, line


def pay_on_stripe(page: Page, number: str) -> None:
    """Type the card on the hosted page and press Pay, as the payer does."""
    expect(page.get_by_text("TEST MODE")).to_be_visible()
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiration (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_label("Cardholder name").fill("Li Lei")
    page.get_by_role("button", name="Pay 100.00 CNY").click()


def test_a_traveller_tops_up_by_card_and_keeps_the_card(
        card_page: Page, card_live: Live, stripe_peer: StripeCheckoutPeer,
        shoot: Shooter) -> None:
    page = card_page
    login, line = traveller(card_live)
    sign_in(page, login)
    page.goto(f"/lines/{line['id']}/topup")
    page.locator("#f-amount-10000").check()
    page.get_by_label("Card", exact=True).check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm your order")).to_be_visible()
    page.get_by_label(SAVE).check()
    shoot(page, "card-checkout")
    page.get_by_role("button", name="Submit and pay").click()

    pay_on_stripe(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(page.locator("#keep-consent")).to_be_visible()
    pay_on_stripe(page, "4242 4242 4242 4242")
    expect(page.get_by_text("CN¥100.00 was credited to the wallet.")).to_be_visible()
    order_id = page.url.rsplit("/orders/", 1)[1]

    # Stripe's signed event reached the server and was taken (the order was already paid).
    [session] = [e["data"]["object"]["id"]
                 for e in stripe_peer.events("checkout.session.completed")
                 if e["data"]["object"]["client_reference_id"] == order_id]
    hit = stripe_peer.delivery("checkout.session.completed", session, answered=True)
    assert hit.status == 200, card_live.log_tail()
    with card_live.api(login) as me:
        detail = me.get(f"/api/v1/lines/{line['id']}").json()
        saved = me.get("/api/v1/payment-methods").json()
    assert sum(int(b["balance"]) for b in detail["balances"]) == 100_00, "credited once"
    assert [(m["provider"], m["brand"], m["last4"]) for m in saved] == [
        ("stripe", "visa", "4242")]

    page.goto(f"/lines/{line['id']}/checkout?kind=topup&amount=5000&method=stripe_checkout")
    expect(page.locator("#saved-cards")).to_contain_text("Visa •••• 4242")
