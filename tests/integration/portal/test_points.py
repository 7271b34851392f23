"""Loyalty points on the traveller's dashboard: earned by a card payment, shown with their
expiry, in the page's language."""

from __future__ import annotations

import re

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


def test_registering_with_an_invite_code_in_the_portal(db: Database) -> None:
    from tests.integration.portal.conftest import Browser, csrf_of

    shop = open_shop(db)
    code = re.search(r"your code (R[A-Z0-9]+)", shop.browser.get("/").text)
    assert code, "the dashboard shows the invite code"
    b = Browser(db, {"sandbox": shop.sandbox}, "zh-CN")
    page = b.get("/register")
    form = {"csrf_token": csrf_of(page.text), "email": "friend@example.com",
            "password": "correct-horse-battery", "password_confirm": "correct-horse-battery"}
    bad = b.client.post("/register", data={**form, "invite": "RXYZ1234"})
    assert bad.status_code == 422 and "邀请码无效" in bad.text
    good = b.client.post("/register", data={**form, "invite": code.group(1)},
                         follow_redirects=False)
    assert good.status_code == 303, good.text[:300]
