"""Loyalty points on the traveller's dashboard: earned by a card payment, shown with their
expiry, in the page's language."""

from __future__ import annotations

from tests.integration.portal.conftest import approve, confirm, open_shop, summary
from topup.db.uow import Database


def test_points_earned_by_a_payment_show_on_the_dashboard(db: Database) -> None:
    shop = open_shop(db, lang="zh-CN")
    b, line = shop.browser, shop.line
    before = b.get("/")
    assert 'id="points"' not in before.text, "no points yet: no points card"
    page = summary(b, line, kind="topup", amount="12345", method="sandbox")
    assert 'data-state="fulfilled"' in approve(b, confirm(b, line, page)).text
    home = b.get("/")
    assert '<strong id="points-balance">123</strong> 积分可用于下一笔订单' in home.text
    assert 'id="points-expiry"' in home.text and "2027" in home.text
