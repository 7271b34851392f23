"""Help before a trip, in chromium at phone width: a visitor reads a country's rates outside a
plan (English, then Chinese); a traveller sees the price per GB and per day on the plans page,
ticks three plans into the compare view (no script needed), buys one from it, and the order
summary says where it works, how long it lasts and when it starts."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING

import httpx

from tests.browser.support import (
    PHONE,
    Live,
    Shooter,
    Watched,
    checked_page,
    expect,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

COMPARED = ("TH-7D-10GB", "SEA-7D-6GB", "ASIA-14D-10GB")


def test_a_visitor_reads_the_rates_of_a_country(browser: Browser, live: Live,
                                                watched: Watched, shoot: Shooter) -> None:
    with checked_page(browser, live, watched, viewport=PHONE) as page:
        page.goto("/")
        page.locator('a[data-menu="rates"]').click()
        page.get_by_label("Country").select_option(label="Japan")
        page.get_by_label("Currency").select_option("CNY")
        page.get_by_role("button", name="Show rates").click()
        expect(page.locator("#rates")).to_have_attribute("data-country", "JP")
        expect(page.locator("#rate-data")).to_have_text("CN¥0.60 per MB")
        expect(page.locator("#rate-voice")).to_have_text("CN¥1.50 per minute")
        shoot(page, "rates")
    with checked_page(browser, live, watched, viewport=PHONE, locale="zh-CN") as page:
        page.goto("/rates?country=TH&currency=CNY")
        expect(page.get_by_role("heading", name="在泰国")).to_be_visible()
        expect(page.locator("#rate-sms")).to_have_text("¥0.50 每条短信")
        shoot(page, "rates-zh")


def traveller(live: Live) -> tuple[str, str]:
    """A new traveller with a CNY line for Thailand (the summary needs no money yet)."""
    line = live.new_line(country="TH")
    login = (f"compare-{uuid.uuid4().hex[:8]}@example.com", "far-away-travels")
    r = httpx.post(f"{live.url}/api/v1/auth/register", timeout=10,
                   json={"email": login[0], "password": login[1]})
    assert r.status_code == 201, r.text
    with live.api(login) as me:
        r = me.post("/api/v1/lines/bind", json={"identifier": line["iccid"],
                                                "secret": line["secret"]})
        assert r.status_code == 200, r.text
    return login


def test_plans_per_gb_compared_and_the_summary(browser: Browser, live: Live, watched: Watched,
                                               shoot: Shooter) -> None:
    login = traveller(live)
    with checked_page(browser, live, watched, viewport=PHONE) as page:
        sign_in(page, login)
        page.goto("/plans?country=TH")
        card = page.locator('li[data-plan="TH-7D-10GB"]')
        expect(card.locator(".per-gb")).to_have_text("CN¥4.90")
        expect(card.locator(".per-day")).to_have_text("CN¥7.00")
        expect(page.locator('li[data-plan="ASIA-14D-10GB"] .where')).to_contain_text("Asia")
        for code in COMPARED:
            page.locator(f'li[data-plan="{code}"] input[name="ids"]').check()
        card.scroll_into_view_if_needed()
        shoot(page, "plans-per-gb")
        page.locator("#compare-submit-end").click()
        expect(page).to_have_url(re.compile(r"/plans/compare\?"))
        shown = page.locator("#compare > li")
        expect(shown).to_have_count(3)
        assert [shown.nth(i).get_attribute("data-plan") for i in range(3)] == list(COMPARED)
        expect(page.locator('li[data-plan="SEA-7D-6GB"] .per-gb')).to_have_text("CN¥9.83")
        shoot(page, "compare")
        page.locator('li[data-plan="SEA-7D-6GB"]').get_by_role("link", name="Buy").click()
        page.get_by_label("Wallet balance").check()
        page.get_by_role("button", name="Continue").click()
        expect(page.locator("#summary-where")).to_have_text("South-East Asia")
        expect(page.locator("#summary-validity")).to_have_text("7 days")
        expect(page.locator("#summary-start")).to_contain_text("when you pay: ")
        shoot(page, "summary-validity")
