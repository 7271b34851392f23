"""Promotions in the portal: a flash sale's price, what it replaces and until when on the plans
page, in the page's language; points spent on the order summary."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.integration.portal.conftest import approve, confirm, open_shop, plan_id, summary
from topup.db.uow import Database
from topup.promotions import store
from topup.promotions.rules import Scope


def test_a_flash_sale_shows_its_price_the_list_price_and_its_end(db: Database) -> None:
    shop = open_shop(db, lang="zh-CN")
    chosen = plan_id(db, "TH-7D-10GB")
    with db.unit() as uow:
        store.create_campaign(uow, store.CampaignSpec(
            "discount", "48小时闪购", uow.now - timedelta(hours=1),
            uow.now + timedelta(hours=47), percent_bp=2000,
            scope=Scope(plans=frozenset({chosen}))))
    page = shop.browser.get(f"/plans?line={shop.line.id}").text
    card = page[page.index('data-plan="TH-7D-10GB"'):]
    card = card[:card.index("</li>")]
    price = re.search(r'class="price">([^<]*)<', card)
    was = re.search(r'class="was"><s>([^<]*)<', card)
    assert price and was and "截至" in card and "48小时闪购" in card
    listed = float(re.sub(r"[^0-9.]", "", was.group(1)))
    assert abs(float(re.sub(r"[^0-9.]", "", price.group(1))) - listed * 0.8) < 0.011


def test_points_spent_on_the_summary(db: Database) -> None:
    shop = open_shop(db)
    b, line = shop.browser, shop.line
    page = summary(b, line, kind="topup", amount="50000", method="sandbox")
    approve(b, confirm(b, line, page))  # 500 points earned
    page = summary(b, line, kind="topup", amount="10000", method="sandbox")
    assert "Use my points (500)" in page.text
    used = summary(b, line, kind="topup", amount="10000", method="sandbox", points="500")
    assert "Points: 500" in used.text  # at most 20 % of 100.00: 20.00 = 2,000 points > 500
    assert re.search(r'id="summary-total"><strong>[^<]*95\.00<', used.text)
    paid = approve(b, confirm(b, line, used))
    assert 'data-state="fulfilled"' in paid.text
    home = b.get("/").text
    assert '<strong id="points-balance">95</strong>' in home  # 500 - 500 + 95 earned
