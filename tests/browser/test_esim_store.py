"""The eSIM store in a real browser, against the real server with its demo stock.

A guest picks Japan, buys a 7-day eSIM with the sandbox provider and an e-mail address, and
sees the QR code, the activation code and the iPhone one-tap link; the worker then delivers
the e-mail with the same activation code (and its QR code inline) to an SMTP server on the
loopback; the SM-DP+ reports the installation over ES2+ and the order page, still watching,
says "Installed"; later the traveller adds data to the same eSIM, and no profile leaves stock
for it.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest

from tests.browser.support import (
    Live,
    Shooter,
    Watched,
    expect,
    open_page,
    own_server,
    smtp_settings,
)
from tests.integration.esim.smdp_peer import SmdpPeer
from tests.integration.notifications.peers import SmtpPeer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TOKEN = "es2plus-callback-" + uuid.uuid4().hex
PLAN = "Japan 7 days 10 GB"
MORE = "Japan 1 day 1 GB"
IOS = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpPeer]:
    peer = SmtpPeer().start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpPeer) -> Iterator[Live]:
    """A server of its own: e-mail over SMTP to ``smtp``, the SM-DP+'s callback token set."""
    with own_server(tmp_path_factory.mktemp("store"),
                    **smtp_settings(smtp.port, "shop@example.com"),
                    TOPUP_SMDP_CALLBACK_TOKEN=TOKEN,
                    TOPUP_SMDP_IDENTITY="smdp.example.com") as live:
        yield live


def buy_as_a_guest(page: Page, email: str, shoot: Shooter) -> None:
    page.goto("/")
    page.get_by_role("navigation").get_by_role("link", name="eSIM store").click()
    expect(page.get_by_role("heading", name="Where are you going?")).to_be_visible()
    page.get_by_label("Destination").select_option("JP")
    page.get_by_label("Currency").select_option("JPY")
    page.get_by_role("button", name="Show eSIMs").click()
    shoot(page, "store")
    page.get_by_role("link", name=f"Buy this eSIM {PLAN}").click()
    expect(page.get_by_role("heading", name="Buy an eSIM")).to_be_visible()
    expect(page.locator("#summary-total")).to_contain_text("1,450")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Sandbox (test)").check()
    shoot(page, "store-buy")
    page.get_by_role("button", name="Submit and pay").click()
    expect(page.get_by_text("TEST MODE")).to_be_visible()  # the provider's page
    page.get_by_role("button", name="Pay", exact=True).click()
    page.get_by_role("link", name="Back to the order").click()


def test_a_guest_buys_an_esim_installs_it_and_adds_data(
        browser: Browser, shop: Live, smtp: SmtpPeer, shoot: Shooter) -> None:
    watched = Watched()
    page = open_page(browser, shop, watched)
    email = f"guest-{uuid.uuid4().hex[:8]}@example.com"
    buy_as_a_guest(page, email, shoot)

    expect(page.locator("#esim")).to_have_attribute("data-esim-state", "assigned")
    expect(page.locator("#esim-qr svg")).to_be_visible()
    code = page.locator("#esim-code").inner_text().strip()
    assert re.fullmatch(r"LPA:1\$smdp\.example\.com\$DEMO-(ASIA|GLOBAL)-\d{4}", code), code
    ios = page.locator("#esim-ios").get_attribute("href") or ""
    assert ios.startswith(IOS) and unquote(ios.removeprefix(IOS)) == code
    iccid = page.locator("#esim-iccid").inner_text().strip()
    shoot(page, "store-order")

    # the worker sends the e-mail: the same code, its QR code inline
    shop.cli("worker", "--once")
    mine = [m for m in smtp.received if email in m.rcpt_tos]
    (mail,) = [m for m in mine if "eSIM" in str(m.message["Subject"])]
    assert len(mine) == 2  # and the plan's own confirmation
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert code in text and iccid in text
    parts = [p.get_content_type() for p in mail.message.walk()]
    assert "image/png" in parts and "multipart/related" in parts

    # the SM-DP+ reports the installation; the open page notices by itself
    smdp = SmdpPeer(address="smdp.example.com")
    base = f"{shop.url}/api/v1/esim/smdp"
    assert smdp.report_progress(base, TOKEN, iccid, 3, profile_type="demo") == 204
    assert smdp.report_progress(base, "wrong", iccid, 4, profile_type="demo") == 401
    assert smdp.report_progress(base, TOKEN, iccid, 4, profile_type="demo") == 204
    expect(page.locator("#esim-state")).to_have_text("Installed", timeout=20_000)
    expect(page.locator("#esim-qr")).to_have_count(0)

    # later: more data on the same eSIM, from the store's "add data", no new profile
    before = shop.cli("esim", "stock")
    page.goto("/store?country=JP&currency=JPY")
    add = page.locator("#add-data")
    expect(add).to_contain_text(iccid)
    add.get_by_role("link", name=iccid).click()
    page.get_by_role("link", name=f"Buy {MORE}").click()
    page.get_by_label("Sandbox (test)").check()
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Submit and pay").click()
    page.get_by_role("button", name="Pay", exact=True).click()
    page.get_by_role("link", name="Back to the order").click()
    expect(page.locator("#order-state")).to_have_attribute("data-state", "fulfilled")
    expect(page.get_by_text(f"{MORE} is on your line.")).to_be_visible()
    page.get_by_role("link", name="Back to the line").click()
    expect(page.get_by_text(iccid).first).to_be_visible()
    assert shop.cli("esim", "stock") == before
    page.context.close()
    assert watched.js_errors == [] and watched.external == []
