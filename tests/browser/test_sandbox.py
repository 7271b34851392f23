"""Pages served beside the portal, in chromium: the sandbox provider's payment page (a payer
approves, with and without 3-D Secure, in English and Chinese) and the API's /docs."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import httpx

from tests.browser.support import Live, Shooter, Watched, expect, open_page

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def sandbox_order(live: Live, amount: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new traveller with a new line and a top-up waiting for the sandbox; (line, order)."""
    line = live.new_line()
    login = (f"payer-{uuid.uuid4().hex[:8]}@example.com", "far-away-travels")
    r = httpx.post(f"{live.url}/api/v1/auth/register", timeout=10,
                   json={"email": login[0], "password": login[1]})
    assert r.status_code == 201, r.text
    with live.api(login) as me:
        r = me.post("/api/v1/lines/bind", json={"identifier": line["iccid"],
                                                "secret": line["secret"]})
        assert r.status_code == 200, r.text
        r = me.post("/api/v1/orders", headers={"Idempotency-Key": uuid.uuid4().hex},
                    json={"line_id": line["id"], "kind": "topup", "method": "sandbox",
                          "amount": amount})
        assert r.status_code == 201, r.text
        order = dict(r.json())
    assert order["state"] == "awaiting_payment"
    assert order["next_action"]["kind"] == "redirect"
    return line | {"login": login}, order


def wallet(live: Live, line: dict[str, Any]) -> int:
    with live.api(line["login"]) as me:
        detail = me.get(f"/api/v1/lines/{line['id']}").json()
    return sum(int(b["balance"]) for b in detail["balances"] if b["currency"] == "CNY")


def test_a_payer_approves_on_the_sandbox_page(page: Page, live: Live, shoot: Shooter) -> None:
    line, order = sandbox_order(live, 88_00)
    page.goto(order["next_action"]["value"])
    expect(page.get_by_text("TEST MODE")).to_be_visible()
    expect(page.get_by_role("heading", name="Sandbox payment")).to_be_visible()
    shoot(page, "sandbox-pay")
    page.get_by_role("button", name="Pay", exact=True).click()
    expect(page.get_by_role("heading", name="Payment approved")).to_be_visible()
    page.get_by_role("link", name="Back to the order").click()
    expect(page.get_by_role("heading", name="Paid. Your balance is updated.")).to_be_visible()
    assert wallet(live, line) == 88_00


def test_3ds_in_chinese_and_a_wrong_code_declines(browser: Browser, live: Live,
                                                  watched: Watched) -> None:
    page = open_page(browser, live, watched, locale="zh-CN")
    try:
        line, order = sandbox_order(live, 66_00)
        page.goto(order["next_action"]["value"])
        expect(page.get_by_role("heading", name="沙箱支付")).to_be_visible()
        page.get_by_role("button", name="使用 3-D 安全验证支付").click()
        page.get_by_label("请输入银行验证码").fill("9999")
        page.get_by_role("button", name="确认").click()
        expect(page.get_by_role("heading", name="支付已拒绝")).to_be_visible()
        assert wallet(live, line) == 0
        _, order = sandbox_order(live, 77_00)
        page.goto(order["next_action"]["value"])
        page.get_by_role("button", name="使用 3-D 安全验证支付").click()
        page.get_by_label("请输入银行验证码").fill("1234")
        page.get_by_role("button", name="确认").click()
        expect(page.get_by_role("heading", name="支付成功")).to_be_visible()
    finally:
        page.context.close()
    assert watched.js_errors == []


def test_api_docs_load_and_nothing_leaves_this_machine(page: Page, watched: Watched) -> None:
    response = page.goto("/docs")
    assert response is not None and response.status == 200
    expect(page).to_have_title("topup top-up API - Swagger UI")
    assert page.request.get("/openapi.json").json()["paths"]["/api/v1/orders"]
    # Swagger UI comes from this server, so the browser (refused anything off loopback)
    # renders the operations: the orders endpoint is on the page.
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/orders").first).to_be_visible()
    assert watched.external == [], watched.external
