"""The data forecast on a traveller's line page in chromium: a week in Japan on a first-use
plan, used fast enough that the data runs out before the plan ends; in English at phone and
desktop width, then in Chinese."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.browser.support import ADMIN, NETWORK, PHONE, Live, Shooter, expect

if TYPE_CHECKING:
    from playwright.sync_api import Page

GIB = 1024**3
PASSWORD = "see-the-world-2026"


def a_traveller_in_japan(live: Live) -> tuple[str, dict[str, Any]]:
    """A registered traveller whose line holds Japan 8 days 15 GB, started five days ago by
    the first of five days of 2.5 GB each (the network reports each day's use)."""
    line = live.new_line(country="JP")
    email = f"forecast-{uuid.uuid4().hex[:8]}@example.com"
    assert live.api(ADMIN).post(f"/api/v1/admin/lines/{line['id']}/credit", json={
        "amount": 100_00, "reason": "cash at the airport"},
        headers={"Idempotency-Key": uuid.uuid4().hex}).status_code == 201
    r = live.api(ADMIN).post("/api/v1/auth/register", json={
        "email": email, "password": PASSWORD})
    assert r.status_code in (200, 201), r.text
    me = live.api((email, PASSWORD))
    assert me.post("/api/v1/lines/bind", json={
        "identifier": line["iccid"], "secret": line["secret"]}).status_code == 200
    plans = me.get("/api/v1/plans", params={"country": "JP"}).json()
    plan = next(p for p in (plans["items"] if isinstance(plans, dict) else plans)
                if p["code"] == "JP-8D-15GB")
    r = me.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex}, json={
        "line_id": line["id"], "kind": "plan", "method": "wallet", "plan_id": plan["id"]})
    assert r.status_code in (200, 201), r.text
    now = datetime.now(UTC)
    with live.api(NETWORK) as net:
        for back in range(5, 0, -1):
            r = net.post("/api/v1/usage", json={
                "record_id": f"forecast-{uuid.uuid4().hex}", "line": line["iccid"],
                "unit": "data", "quantity": 5 * GIB // 2, "country": "JP",
                "occurred_at": (now - timedelta(days=back)).isoformat()})
            assert r.status_code == 201 and r.json()["from_buckets"] == 5 * GIB // 2, r.text
    return email, line


def to_the_forecast(page: Page) -> None:
    """Scroll the data section's heading to the top, at phone width (the size that matters
    most; the desktop picture keeps the same scroll)."""
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, document.getElementById('data-h')"
                  ".getBoundingClientRect().top + window.scrollY - 8)")


def test_the_line_page_forecasts_the_data_and_suggests_a_plan(page: Page, live: Live,
                                                              shoot: Shooter) -> None:
    email, line = a_traveller_in_japan(live)
    page.goto("/login")
    page.get_by_label("E-mail or phone number").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/lines/{line['id']}")
    forecast = page.locator("#forecast")
    expect(forecast).to_have_attribute("data-state", "runs_out_first")
    expect(forecast).to_contain_text("your data lasts about 1 day.")
    expect(forecast).to_contain_text("Your plan ends in 3 days.")
    expect(page.locator("#forecast-plan")).to_be_visible()
    to_the_forecast(page)
    shoot(page, "forecast")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(forecast).to_contain_text("流量约可用 1 天")
    to_the_forecast(page)
    shoot(page, "forecast-zh")
    page.locator("#forecast-plan").click()
    expect(page).to_have_url(f"{live.url}/lines/{line['id']}/plans/"
                             + page.url.rsplit("/", 1)[-1])
