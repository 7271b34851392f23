"""The trip planner in chromium at phone width: a visitor plans Japan then Korea from the
menu in English; a signed-in traveller plans a trip starting today in Chinese and buys its
plans from the wallet in one press. Screenshots of the form and the results."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import httpx

from tests.browser.support import PHONE, Live, Shooter, expect

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_a_visitor_plans_japan_then_korea(page: Page, live: Live, shoot: Shooter) -> None:
    page.set_viewport_size(PHONE)
    start = date.today() + timedelta(days=10)
    page.goto("/")
    page.get_by_role("link", name="Plan a trip").first.click()
    expect(page.get_by_role("heading", name="Plan a trip")).to_be_visible()
    page.locator("#f-c1").select_option("JP")
    page.locator("#f-f1").fill(start.isoformat())
    page.locator("#f-l1").fill((start + timedelta(days=7)).isoformat())
    page.locator("#f-c2").select_option("KR")
    page.locator("#f-f2").fill((start + timedelta(days=7)).isoformat())
    page.locator("#f-l2").fill((start + timedelta(days=11)).isoformat())
    page.get_by_label("Normal: also photos and some video calls", exact=False).check()
    page.locator("#f-l2").blur()
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, "trip-form")
    page.get_by_role("button", name="Find plans").click()
    result = page.locator("#trip-result")
    expect(result).to_have_attribute("data-covered", "yes")
    expect(result).to_contain_text("Japan")
    expect(result).to_contain_text("South Korea")
    expect(page.locator("#trip-total")).to_contain_text("CN¥")
    expect(page.get_by_role("link", name="Log in to buy these plans")).to_be_visible()
    # the page is no wider than the phone: nothing to scroll sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    result.evaluate("e => e.scrollIntoView()")
    shoot(page, "trip-result")


def _traveller(live: Live) -> tuple[str, str]:
    """A Chinese-speaking traveller with a CNY line for Thailand holding 300.00 (paid
    through the sandbox): their login."""
    line = live.new_line(country="TH")
    login = (f"trip-{uuid.uuid4().hex[:8]}@example.com", "far-away-travels")
    r = httpx.post(f"{live.url}/api/v1/auth/register", timeout=10,
                   json={"email": login[0], "password": login[1], "language": "zh-CN"})
    assert r.status_code == 201, r.text
    with live.api(login) as me:
        r = me.post("/api/v1/lines/bind", json={"identifier": line["iccid"],
                                                "secret": line["secret"]})
        assert r.status_code == 200, r.text
        r = me.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
            "line_id": r.json()["id"], "kind": "topup", "method": "sandbox",
            "amount": 300_00})
        assert r.status_code == 201, r.text
        paid = httpx.post(r.json()["next_action"]["value"] + "/approve", timeout=10)
        assert paid.status_code == 200, paid.text
    return login


def test_a_traveller_buys_a_trip_in_chinese(page: Page, live: Live, shoot: Shooter) -> None:
    login = _traveller(live)
    today = date.today()
    page.set_viewport_size(PHONE)
    page.goto("/login")  # the form in the visitor's English; then the traveller's Chinese
    page.get_by_label("E-mail or phone number").fill(login[0])
    page.get_by_label("Password").fill(login[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="积分")).to_be_visible()
    page.goto(f"/trip?c1=TH&f1={today.isoformat()}"
              f"&l1={(today + timedelta(days=2)).isoformat()}&use=light")
    expect(page.get_by_role("heading", name="行程规划")).to_be_visible()
    result = page.locator("#trip-result")
    expect(result).to_have_attribute("data-covered", "yes")
    expect(result).to_contain_text("泰国")
    result.evaluate("e => e.scrollIntoView()")
    shoot(page, "trip-zh")
    page.get_by_role("button", name="用钱包全部购买").click()
    page.wait_for_url("**/lines/*")
    expect(page.locator("main")).to_contain_text("泰国")
