"""A traveller's story in a real browser, against the real server.

A new traveller registers, binds a line, buys a plan with the sandbox provider, sees the data
gauge fall after the network reports usage, redeems a voucher, switches to Chinese; then an
admin freezes the line in the console (found by its ICCID, with a reason) and the
traveller's next top-up is refused with a clear message.
Screenshots of the pages on the way are taken at phone and desktop width.
"""

from __future__ import annotations

import csv
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.browser.support import (
    ADMIN,
    NETWORK,
    Live,
    Shooter,
    Watched,
    expect,
    open_page,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

GIB = 1024**3
PLAN = "Thailand 7 days 10 GB"  # TH-7D-10GB: 49.00 CNY, 10 GB for 7 days from purchase
CHECK = "Please check the form:"
FROZEN_ZH = "该号码已被冻结，无法充值或使用。请联系客服解除冻结。"


def gauge(page: Page) -> int:
    """Bytes left, as the dashboard's data gauge draws them."""
    figure = page.locator("#data-gauge")
    expect(figure).to_be_visible()
    return int(figure.get_attribute("data-remaining") or -1)


def register(page: Page, shoot: Shooter) -> str:
    email = f"traveller-{uuid.uuid4().hex[:8]}@example.com"
    page.goto("/")
    shoot(page, "login")
    page.get_by_role("navigation").get_by_role("link", name="Register").click()
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill("see-the-world-2026")
    page.get_by_label("Repeat the password").fill("see-the-world-2026")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Welcome! Your account is ready.")).to_be_visible()
    return email


def bind(page: Page, line: dict[str, Any], shoot: Shooter) -> None:
    expect(page.get_by_role("heading", name="Bind a line")).to_be_visible()
    page.get_by_label("ICCID or phone number").fill(line["iccid"])
    page.get_by_label("Card secret").fill("0000")
    page.get_by_role("button", name="Bind", exact=True).click()
    expect(page.locator("#form-errors")).to_contain_text(CHECK)  # a wrong secret is refused
    shoot(page, "bind")
    page.get_by_label("Card secret").fill(line["secret"])
    page.get_by_role("button", name="Bind", exact=True).click()
    expect(page.get_by_text("The line is now bound to your account.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/lines/{line['id']}\b"))


def buy_plan_with_the_sandbox(page: Page, shoot: Shooter) -> None:
    page.get_by_role("link", name="Buy a plan").first.click()
    page.get_by_label("Country").select_option("TH")
    page.get_by_role("button", name="Show plans").click()
    shoot(page, "plans")
    page.get_by_role("link", name=f"Buy {PLAN}").click()
    expect(page.get_by_role("heading", name=PLAN)).to_be_visible()
    page.get_by_label("Sandbox (test)").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm your order")).to_be_visible()
    expect(page.locator("#summary-total")).to_contain_text("49")
    expect(page.get_by_text("it cannot be changed after submitting")).to_be_visible()
    expect(page.locator("#form-errors")).to_be_hidden()  # no empty error box before a try
    shoot(page, "checkout")
    page.get_by_role("button", name="Submit and pay").click()
    expect(page.get_by_text("TEST MODE")).to_be_visible()  # the provider's page
    page.get_by_role("button", name="Pay", exact=True).click()
    page.get_by_role("link", name="Back to the order").click()
    expect(page.locator("#order-state")).to_have_attribute("data-state", "fulfilled")
    expect(page.get_by_text(f"{PLAN} is on your line.")).to_be_visible()
    shoot(page, "order")
    page.get_by_role("link", name="Back to the line").click()


def report_usage(live: Live, line: dict[str, Any], quantity: int) -> None:
    with live.api(NETWORK) as net:
        r = net.post("/api/v1/usage", json={
            "record_id": f"browser-{uuid.uuid4().hex}", "line": line["iccid"], "unit": "data",
            "quantity": quantity, "country": "TH",
            "occurred_at": datetime.now(UTC).isoformat()})
    assert r.status_code == 201, r.text
    assert r.json()["from_buckets"] == quantity


def make_voucher(live: Live, folder: Path, face: str) -> str:
    """One active money voucher made with ``topup vouchers``; its PIN."""
    live.cli("vouchers", "generate", "--out", str(folder), "--as", ADMIN[0], "--count", "1",
             "--face", face, "--currency", "CNY", "--format", "csv", "--label", "browser")
    [export] = folder.glob("voucher-batch-*.csv")
    with export.open(newline="") as f:
        [card] = list(csv.DictReader(f))
    live.cli("vouchers", "activate", card["batch"], "--distributor", "Browser Mart",
             "--as", ADMIN[0])
    return card["pin"]


def redeem(page: Page, pin: str, shoot: Shooter) -> None:
    page.get_by_role("link", name="Redeem a voucher").click()
    page.get_by_label("Voucher PIN").fill("1234 5678 9012 3456")
    page.get_by_role("button", name="Redeem").click()
    expect(page.locator("#form-errors")).to_contain_text(CHECK)
    expect(page.locator("#e-pin")).to_be_visible()
    page.goto(page.url)  # a fresh form
    expect(page.locator("#form-errors")).to_be_hidden()
    page.get_by_label("Voucher PIN").fill(f"{pin[:4]} {pin[4:8]}-{pin[8:]}")
    shoot(page, "voucher")
    page.get_by_role("button", name="Redeem").click()
    expect(page.get_by_text("The voucher was redeemed.")).to_be_visible()
    expect(page.locator("#order-state")).to_have_attribute("data-state", "fulfilled")
    page.get_by_role("link", name="Back to the line").click()


def freeze_in_the_console(browser: Browser, live: Live, line: dict[str, Any],
                          shoot: Shooter) -> None:
    """An admin, in a browser of their own, finds the line by its ICCID and freezes it."""
    watched = Watched()
    admin = open_page(browser, live, watched)
    try:
        sign_in(admin, ADMIN)
        expect(admin).to_have_url(re.compile(r"/admin$"))
        expect(admin.locator("#line-figures")).to_be_visible()
        shoot(admin, "admin-dashboard")
        admin.get_by_role("navigation", name="Console").get_by_role("link", name="Lines").click()
        admin.get_by_label("Number, ICCID or e-mail").fill(line["iccid"])
        admin.get_by_role("button", name="Search").click()
        admin.locator(f"[data-line='{line['id']}']").click()
        admin.get_by_label("Reason", exact=True).fill("card reported stolen")
        admin.get_by_role("button", name="Freeze the line").click()
        expect(admin.get_by_text("The line is frozen.")).to_be_visible()
        expect(admin.locator("#line-status")).to_have_text("Frozen")
        expect(admin.locator("#line-audit")).to_contain_text("card reported stolen")
        shoot(admin, "admin-line")
    finally:
        admin.context.close()
    assert watched.js_errors == [], watched.js_errors
    assert watched.external == [], watched.external


def orders_of(live: Live, line: dict[str, Any]) -> list[dict[str, Any]]:
    with live.api(ADMIN) as admin:
        r = admin.get(f"/api/v1/lines/{line['id']}/orders")
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def switch_to_chinese(page: Page, shoot: Shooter) -> None:
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    menu = page.get_by_role("navigation", name="主菜单")
    expect(menu.get_by_role("link", name="我的号码")).to_be_visible()
    expect(page.get_by_role("heading", name="余额")).to_be_visible()
    expect(page.get_by_role("link", name="兑换充值卡")).to_be_visible()
    shoot(page, "line-zh")
    page.reload()  # the choice is kept: it is the account's language now
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")


def choose_top_up(page: Page) -> None:
    """In Chinese: the first preset amount, the sandbox, on to the order summary."""
    menu = page.get_by_role("navigation", name="主菜单")
    menu.get_by_role("link", name="充值", exact=True).click()
    page.locator("#topup-form input[name=amount]").first.check()
    page.get_by_label("沙箱（测试）").check()
    page.get_by_role("button", name="继续").click()


def top_up_refused(page: Page, browser: Browser, live: Live, line: dict[str, Any],
                   shoot: Shooter) -> None:
    """The summary was on screen before the freeze: submitting it is refused, and so is a
    top-up started afresh; no order is made, the provider's page never opens."""
    before = orders_of(live, line)
    choose_top_up(page)
    expect(page.get_by_role("heading", name="确认订单")).to_be_visible()
    freeze_in_the_console(browser, live, line, shoot)
    page.get_by_role("button", name="提交并支付").click()
    expect(page.get_by_role("alert").filter(has_text=FROZEN_ZH).first).to_be_visible()
    choose_top_up(page)
    expect(page.locator("#line-blocked")).to_have_text(FROZEN_ZH)
    expect(page.get_by_role("alert").filter(has_text=FROZEN_ZH).first).to_be_visible()
    shoot(page, "topup-frozen-zh")
    assert orders_of(live, line) == before, "no order was made for the frozen line"
    assert "/sandbox/" not in page.url, "the provider's page never opened"


def test_a_traveller_from_registration_to_a_frozen_line(page: Page, browser: Browser,
                                                        live: Live, shoot: Shooter,
                                                        tmp_path: Path) -> None:
    line = live.new_line(currency="CNY", country="CN")
    register(page, shoot)
    bind(page, line, shoot)
    expect(page.get_by_text("No plan is running on this line.")).to_be_visible()

    buy_plan_with_the_sandbox(page, shoot)
    assert gauge(page) == 10 * GIB
    report_usage(live, line, 3 * GIB)
    page.reload()
    assert gauge(page) == 7 * GIB
    expect(page.locator("#data-gauge figcaption")).to_contain_text("7 GB")
    shoot(page, "line")

    pin = make_voucher(live, tmp_path / "vouchers", "20.00")
    redeem(page, pin, shoot)
    expect(page.locator(".balance[data-currency=CNY]")).to_contain_text("20.00")
    page.get_by_role("link", name="History and receipts").click()
    expect(page.locator("#history-orders li")).to_have_count(2)
    shoot(page, "history")
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="My lines").click()
    expect(page.locator(f"[data-line='{line['id']}'] .balance")).to_contain_text("20.00")
    shoot(page, "home")
    page.get_by_role("link", name="Open").click()

    switch_to_chinese(page, shoot)
    top_up_refused(page, browser, live, line, shoot)
    page.goto(f"/lines/{line['id']}")
    expect(page.locator("[data-status=frozen]").first).to_be_visible()
