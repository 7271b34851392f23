"""Promotions in chromium, in Chinese: a traveller sees a flash sale's price on the plans page,
applies a promo code on the order summary, pays on the sandbox, and the receipt lists both
discounts; the points the payment earned are on the dashboard.

The server is a ``topup serve`` of this module's own (SQLite, the demo catalogue), so its
campaigns touch no other test; staff make them through the admin API.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.browser.support import ADMIN, Live, Shooter, Watched, checked_page, expect, own_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PLAN = "TH-7D-10GB"  # CN¥49.00 in the demo catalogue


@pytest.fixture(scope="module")
def promo_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with own_server(tmp_path_factory.mktemp("promo-live")) as live:
        yield live


def campaigns(live: Live) -> int:
    """A 20 % flash sale on PLAN and a 3.00 code HELLO3 for it; the plan's id."""
    now = datetime.now(UTC)
    window = {"starts_at": (now - timedelta(hours=1)).isoformat(),
              "ends_at": (now + timedelta(hours=47)).isoformat()}
    with live.api(ADMIN) as admin:
        plans = admin.get("/api/v1/plans", params={"currency": "CNY"}).json()
        plan_id = next(int(p["id"]) for p in plans if p["code"] == PLAN)
        sale = admin.post("/api/v1/admin/campaigns", json={
            "kind": "discount", "name": "限时闪购", "percent_bp": 2000,
            "scope": {"plans": [plan_id]}, **window})
        assert sale.status_code == 201, sale.text
        code = admin.post("/api/v1/admin/campaigns", json={
            "kind": "code", "name": "新客立减", "currency": "CNY", "amount_off": 3_00,
            "scope": {"plans": [plan_id]}, "per_customer_limit": 1, **window})
        assert code.status_code == 201, code.text
        made = admin.post(f"/api/v1/admin/campaigns/{code.json()['id']}/codes",
                          json={"code": "HELLO3"})
        assert made.status_code == 201, made.text
    return plan_id


def traveller(live: Live) -> tuple[tuple[str, str], dict[str, Any]]:
    """A Chinese-speaking traveller with a CNY line for Thailand: (login, line)."""
    line = live.new_line(country="TH")
    login = (f"promo-{uuid.uuid4().hex[:8]}@example.com", "far-away-travels")
    r = httpx.post(f"{live.url}/api/v1/auth/register", timeout=10,
                   json={"email": login[0], "password": login[1], "language": "zh-CN"})
    assert r.status_code == 201, r.text
    with live.api(login) as me:
        r = me.post("/api/v1/lines/bind", json={"identifier": line["iccid"],
                                                "secret": line["secret"]})
        assert r.status_code == 200, r.text
    return login, line


@pytest.fixture
def promo_page(browser: Browser, promo_live: Live, watched: Watched) -> Iterator[Page]:
    with checked_page(browser, promo_live, watched) as page:
        yield page


def test_a_flash_sale_a_promo_code_the_receipt_and_the_points(
        promo_page: Page, promo_live: Live, shoot: Shooter) -> None:
    page = promo_page
    plan_id = campaigns(promo_live)
    login, line = traveller(promo_live)
    page.goto("/login")  # in the visitor's language (English); then in the traveller's
    page.get_by_label("E-mail or phone number").fill(login[0])
    page.get_by_label("Password").fill(login[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="我的号码")).to_be_visible()

    page.goto(f"/plans?line={line['id']}&country=TH")
    card = page.locator(f'[data-plan="{PLAN}"]')
    expect(card.locator(".price")).to_contain_text("39.20")  # 49.00 less 20 %
    expect(card.locator(".was")).to_contain_text("49.00")
    expect(card.locator(".deadline")).to_contain_text("截至")
    shoot(page, "promo-plans-zh")

    page.goto(f"/lines/{line['id']}/checkout?kind=plan&plan_id={plan_id}&method=sandbox")
    expect(page.locator("#summary-total")).to_contain_text("39.20")
    page.locator("#f-code").fill("hello 3")
    page.locator("#apply-code").click()
    expect(page.locator("#summary-total")).to_contain_text("36.20")
    expect(page.locator("#order-summary")).to_contain_text("优惠：限时闪购")
    expect(page.locator("#order-summary")).to_contain_text("优惠：新客立减")
    shoot(page, "promo-summary-zh")
    page.locator("#submit-order").click()

    expect(page.get_by_text("TEST MODE")).to_be_visible()  # the sandbox's page
    # the sandbox page speaks the browser's language
    page.get_by_role("button", name="Pay", exact=True).click()
    page.locator("a[href^='/pay/return/']").click()
    expect(page.locator("#order-state")).to_have_attribute("data-state", "fulfilled")
    page.locator("#receipt-link").click()
    expect(page.get_by_text("优惠 · 限时闪购")).to_be_visible()
    expect(page.get_by_text("优惠 · 新客立减")).to_be_visible()
    shoot(page, "promo-receipt-zh")

    page.goto("/")
    expect(page.locator("#points-balance")).to_have_text("36")  # one per 1.00 paid
    expect(page.locator("#points")).to_contain_text("积分")
    shoot(page, "promo-points-zh")
