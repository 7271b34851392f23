"""The help centre in chromium: a signed-out traveller at phone width opens Help from the
menu, searches, and reads an article, in English and in Chinese, with the operator's hotline
and hours; a support login edits an article in the console, previews it, saves it (readers
see it at once) and goes back to the shipped text."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.browser.support import (
    ADMIN,
    PHONE,
    Live,
    Shooter,
    Watched,
    checked_page,
    expect,
    own_server,
    sign_in,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser

HOTLINE = {"TOPUP_HOTLINE_NUMBER": "+852 3000 0000",
           "TOPUP_HOTLINE_HOURS": "Every day 8:00-22:00 (UTC+8)",
           "TOPUP_HOTLINE_HOURS_ZH": "每天 8:00-22:00（UTC+8）"}


@pytest.fixture(scope="module")
def helpdesk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """A server of this module's own, with a hotline and its opening hours configured."""
    with own_server(tmp_path_factory.mktemp("help-live"), **HOTLINE) as live:
        yield live


def test_a_traveller_finds_an_answer_on_a_phone(browser: Browser, helpdesk: Live,
                                                 watched: Watched, shoot: Shooter) -> None:
    with checked_page(browser, helpdesk, watched, viewport=PHONE) as page:
        page.goto("/")
        page.get_by_role("link", name="Help", exact=True).click()
        expect(page.get_by_role("heading", name="Help centre")).to_be_visible()
        expect(page.locator("#hotline")).to_have_text("+852 3000 0000")
        shoot(page, "help")
        page.get_by_label("Search the help").fill("install eSIM")
        page.get_by_role("button", name="Search").click()
        results = page.locator("#help-results li")
        expect(results.first).to_have_attribute("data-slug", "install-esim")
        shoot(page, "help-search")
        results.first.get_by_role("link").click()
        expect(page.get_by_role("heading", name="How to install your eSIM")).to_be_visible()
        expect(page.locator("#help-article")).to_contain_text("activation code")
        expect(page.locator("#help-home")).to_be_visible()
        shoot(page, "help-article")


def test_the_help_centre_in_chinese(browser: Browser, helpdesk: Live, watched: Watched,
                                    shoot: Shooter) -> None:
    with checked_page(browser, helpdesk, watched, viewport=PHONE, locale="zh-CN") as page:
        page.goto("/help")
        expect(page.locator("#hotline-hours")).to_contain_text("每天 8:00-22:00")
        page.get_by_label("搜索帮助").fill("卡密")
        page.get_by_role("button", name="搜索").click()
        expect(page.locator('#help-results li[data-slug="redeem-voucher"]')).to_be_visible()
        page.locator('#help-results li[data-slug="spot-a-scam"] a').click()
        expect(page.get_by_role("heading", name="如何识别诈骗")).to_be_visible()
        shoot(page, "help-article-zh")


def test_support_edits_an_article_with_a_preview(browser: Browser, helpdesk: Live,
                                                 watched: Watched, shoot: Shooter) -> None:
    support = (f"support-{uuid.uuid4().hex[:6]}@example.com", "help-support-pass")
    with helpdesk.api(ADMIN) as admin:
        r = admin.post("/api/v1/admin/staff", json={
            "email": support[0], "password": support[1], "role": "support"})
        assert r.status_code == 201, r.text
    with checked_page(browser, helpdesk, watched) as page:
        sign_in(page, support)
        page.locator('[data-section="help"]').click()
        shoot(page, "help-console")
        page.locator('tr[data-slug="money-late"] td[data-lang="en"] a').click()
        body = page.get_by_label("Text (Markdown)")
        body.fill("## Public holidays\n\nOn public holidays a payment can take "
                  "**up to an hour**. {{contact}}")
        page.get_by_role("button", name="Preview").click()
        preview = page.locator("#help-preview")
        expect(preview.locator("strong")).to_have_text("up to an hour")
        expect(preview).to_contain_text("Call our hotline +852 3000 0000")
        shoot(page, "help-edit-preview")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#notice")).to_contain_text("The article is saved.")
        expect(page.locator("#help-state")).to_have_attribute("data-state", "edited")
    with checked_page(browser, helpdesk, Watched()) as reader:
        reader.goto("/help/money-late")
        expect(reader.locator("#help-article strong")).to_have_text("up to an hour")
    with checked_page(browser, helpdesk, watched) as page:
        sign_in(page, support)
        page.goto("/admin/help/money-late/en")
        page.get_by_role("button", name="Go back to the shipped text").click()
        expect(page.locator("#help-state")).to_have_attribute("data-state", "shipped")
        expect(page.locator("#help-audit")).to_contain_text("help.revert")

