"""The public card check in chromium, signed out: a genuine card's verdict in English, a
serial that is no card of ours in Chinese, each with the guide to buying safely."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.browser.support import ADMIN, Live, Shooter, Watched, checked_page, expect

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def a_card(live: Live, folder: Path) -> str:
    """A new activated 50.00 CNY card's serial, made as an operator makes them."""
    made = live.cli("vouchers", "generate", "--out", str(folder), "--as", ADMIN[0], "--count",
                    "1", "--face", "50", "--currency", "CNY", "--distributor", "Night Market")
    found = re.search(r"batch (\d+): 1 cards (\d+)", made)
    assert found, made
    live.cli("vouchers", "activate", found.group(1), "--as", ADMIN[0])
    return found.group(2)


def test_a_card_checked_before_buying_it(page: Page, live: Live, shoot: Shooter,
                                         tmp_path: Path) -> None:
    serial = a_card(live, tmp_path / "print")
    page.goto("/")
    page.get_by_role("link", name="Check a card").click()
    page.get_by_label("Serial number").fill(serial)
    page.get_by_role("button", name="Check", exact=True).click()
    expect(page.locator("#verdict")).to_have_attribute("data-verdict", "genuine")
    expect(page.locator("#verdict")).to_contain_text("CN¥50.00")
    expect(page.locator("#official")).to_be_visible()
    shoot(page, "check")


def test_a_serial_that_is_no_card_in_chinese(browser: Browser, live: Live, watched: Watched,
                                             shoot: Shooter) -> None:
    with checked_page(browser, live, watched, locale="zh-CN") as page:
        page.goto("/check?serial=9999-0000")
        expect(page.locator("#verdict")).to_have_attribute("data-verdict", "unknown")
        expect(page.get_by_role("heading", name="不是我们的卡")).to_be_visible()
        shoot(page, "check-zh")
