"""The other traveller pages: plans with filters and search, vouchers, history with receipts,
settings, and the language switch (Accept-Language first, then the visitor's choice)."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.integration.portal.conftest import (
    Browser,
    Shop,
    approve,
    confirm,
    credit,
    summary,
    use,
)
from tests.integration.vouchers.conftest import make_batch
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.notifications.preferences import get_preferences
from topup.subscribers.tables import users


def test_plans_by_country_region_and_search(db: Database) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
    anon = Browser(db)
    every = anon.get("/plans")
    assert every.status_code == 200 and 'href="/login?next=/plans"' in every.text
    thai = anon.get("/plans", params={"country": "TH"})
    codes = re.findall(r'data-plan="([^"]+)"', thai.text)
    assert "TH-7D-10GB" in codes and "JP-7D-5GB" not in " ".join(codes)
    assert any(c.startswith("SEA") or c.startswith("ASIA") for c in codes)  # regions too
    europe = anon.get("/plans", params={"zone": "EU"})
    assert all(c.startswith("EU") for c in re.findall(r'data-plan="([^"]+)"', europe.text))
    found = anon.get("/plans", params={"q": "thailand 7"})
    assert re.findall(r'data-plan="([^"]+)"', found.text) == ["TH-7D-10GB"]
    assert "1 plan" in found.text
    nothing = anon.get("/plans", params={"q": "atlantis"})
    assert "No plan matches" in nothing.text
    zh = Browser(db, lang="zh-CN").get("/plans", params={"country": "TH"})
    assert "泰国 7天 10GB" in zh.text and "¥49.00" in zh.text and "7 天" in zh.text
    for name in ("country", "zone", "q"):
        assert f'id="f-{name}" name="{name}"' in every.text
        assert f'<label for="f-{name}">' in every.text


def test_plans_for_a_line_link_to_buying(shop: Shop) -> None:
    page = shop.browser.get("/plans", params={"country": "TH"})
    assert f'href="/lines/{shop.line.id}/plans/' in page.text
    assert f'<option value="{shop.line.id}" selected>' in page.text


def test_redeeming_a_voucher(shop: Shop) -> None:
    made = make_batch(shop.db, count=2, face=50_00)
    b, path = shop.browser, f"/lines/{shop.line.id}/voucher"
    empty = b.submit(path, path, {"pin": ""})
    assert empty.status_code == 422 and "Enter the PIN" in empty.text
    wrong = b.submit(path, path, {"pin": "1234 5678 9012 3456"})
    assert wrong.status_code == 422 and "This voucher PIN is not valid" in wrong.text
    assert 'id="e-pin"' in wrong.text
    done = b.submit(path, path, {"pin": made.pins[0]})
    assert re.fullmatch(r"/orders/\d+", done.url.path)
    assert "The voucher was redeemed." in done.text and "CN¥50.00 was credited" in done.text
    used = b.submit(path, path, {"pin": made.pins[0]})
    assert used.status_code == 422 and "This voucher has already been used" in used.text
    assert "CN¥50.00" in b.get(f"/lines/{shop.line.id}").text


def test_voucher_errors_in_chinese(db: Database) -> None:
    from tests.integration.portal.conftest import open_shop

    shop = open_shop(db, lang="zh-CN")
    path = f"/lines/{shop.line.id}/voucher"
    wrong = shop.browser.submit(path, path, {"pin": "0000000000000000"})
    assert "充值卡密码无效" in wrong.text and "请检查表单" in wrong.text


def test_history_tabs_and_receipts(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    empty = b.get(f"/lines/{line.id}/history")
    assert 'id="history-empty"' in empty.text
    paid = approve(b, confirm(b, line, summary(b, line, kind="topup", amount="10000",
                                                method="sandbox")))
    order_id = int(paid.url.path.rsplit("/", 1)[1])
    use(shop.db, line, 5 * 1024 * 1024, "u-1")
    orders = b.get(f"/lines/{line.id}/history?tab=orders")
    assert f'data-order="{order_id}"' in orders.text
    assert f'href="/orders/{order_id}/receipt"' in orders.text and "Receipt R" in orders.text
    usage = b.get(f"/lines/{line.id}/history?tab=usage")
    assert "5 MB" in usage.text and "Charged CN¥" in usage.text  # no plan: paid from money
    moves = b.get(f"/lines/{line.id}/history?tab=movements")
    assert "Top-up" in moves.text and "+CN¥100.00" in moves.text
    assert "Usage outside plans" in moves.text
    for n in range(22):
        use(shop.db, line, 1024, f"u-many-{n}")
    first = b.get(f"/lines/{line.id}/history?tab=usage")
    older = re.search(r'href="(/lines/\d+/history\?tab=usage&amp;before=\d+)"', first.text)
    assert older
    second = b.get(older.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "5 MB" in second.text
    assert b.get(f"/lines/{line.id}/history?tab=nonsense").status_code == 200


def test_settings_save_preferences_and_refuse_bad_ones(shop: Shop) -> None:
    b = shop.browser
    page = b.get("/settings")
    assert 'id="f-email" name="email" value="on" checked' in page.text
    bad = b.submit("/settings", "/settings/notifications", {
        "email": "on", "quiet_hours": "late", "timezone": "Asia/Shanghai"})
    assert bad.status_code == 422 and 'id="e-quiet_hours"' in bad.text
    zone = b.submit("/settings", "/settings/notifications", {
        "email": "on", "quiet_hours": "", "timezone": "Mars/Olympus"})
    assert zone.status_code == 422 and 'id="e-timezone"' in zone.text
    ok = b.submit("/settings", "/settings/notifications", {
        "email": "on", "quiet_hours": "22:00-07:00", "timezone": "Asia/Shanghai"})
    assert ok.url.path == "/settings" and "Notification settings saved." in ok.text
    user_id = _user_id(shop)
    with shop.db.unit(readonly=True) as uow:
        prefs = get_preferences(uow, user_id)
    assert (prefs.email, prefs.sms, prefs.quiet_hours, prefs.timezone) == (
        True, False, "22:00-07:00", "Asia/Shanghai")
    assert 'value="22:00-07:00"' in b.get("/settings").text


def _user_id(shop: Shop) -> int:
    with shop.db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(users.c.id).where(
            users.c.email == shop.email)).scalar_one())


def test_language_from_accept_language_then_the_switch(shop: Shop) -> None:
    anon = Browser(shop.db, lang="zh-CN,zh;q=0.9,en;q=0.8")
    assert '<html lang="zh-CN">' in anon.get("/login").text
    assert '<html lang="en">' in Browser(shop.db, lang="fr, en;q=0.5").get("/login").text
    switched = anon.submit("/login", "/language", {"language": "en", "next": "/plans"})
    assert switched.url.path == "/plans" and '<html lang="en">' in switched.text
    assert anon.get("/login").text.count('lang="en"') >= 1
    away = anon.submit("/login", "/language", {"language": "zh-CN",
                                               "next": "https://evil.example/"})
    assert away.url.path == "/" or away.url.path == "/login"
    b = shop.browser
    zh = b.submit("/", "/language", {"language": "zh-CN", "next": f"/lines/{shop.line.id}"})
    assert "余额" in zh.text and "我的号码" in zh.text
    with shop.db.unit() as uow:
        assert uow.conn.execute(select(users.c.language).where(
            users.c.email == shop.email)).scalar_one() == "zh-CN"
    back = b.submit("/settings", "/settings/language", {"language": "en"})
    assert "Language saved." in back.text and '<html lang="en">' in back.text


def test_wallet_money_and_dates_follow_the_language(shop: Shop) -> None:
    credit(shop.db, shop.line, 1234_56)
    b = shop.browser
    assert "CN¥1,234.56" in b.get("/").text
    b.submit("/settings", "/settings/language", {"language": "zh-CN"})
    assert "¥1,234.56" in b.get("/").text and "CN¥" not in b.get("/").text


def test_form_messages_in_chinese(db: Database) -> None:
    from tests.integration.portal.conftest import open_shop, plan_id

    shop = open_shop(db, lang="zh-CN")
    b, n = shop.browser, shop.line.id
    anon = Browser(db, lang="zh-CN")
    assert "请填写此项。" in anon.submit("/password/forgot", "/password/forgot",
                                      {"login": ""}).text
    short = anon.submit("/password/reset", "/password/reset",
                        {"login": shop.email, "code": "123456", "new_password": "x"})
    assert "密码至少需要 8 个字符。" in short.text
    wrong = anon.submit("/password/reset", "/password/reset",
                        {"login": shop.email, "code": "123456", "new_password": "long-enough"})
    assert "验证码错误或已过期" in wrong.text
    assert "账号或密码错误。" in anon.login(shop.email, "not-the-password").text
    quiet = b.submit("/settings", "/settings/notifications", {"quiet_hours": "soon"})
    assert "通知设置无效" in quiet.text
    pid = plan_id(db, "TH-7D-10GB")
    method = b.submit(f"/lines/{n}/plans/{pid}", f"/lines/{n}/plans/{pid}", {})
    assert "请选择支付方式。" in method.text
    amount = b.submit(f"/lines/{n}/topup", f"/lines/{n}/topup",
                      {"amount": "custom", "custom_amount": "abc", "method": "sandbox"})
    assert "请输入金额，例如 100.00。" in amount.text
    missing = b.get("/orders/999")
    assert missing.status_code == 404 and "未找到订单" in missing.text


def test_an_address_no_page_has_is_a_missing_page_not_json(shop: Shop) -> None:
    """An id past what the database holds (or a word for a number) in a page's address gets
    the portal's own 404 page in the traveller's language, never a JSON problem."""
    for path in ("/lines/18446744073709551616", "/lines/0", "/lines/abc"):
        page = shop.browser.get(path)
        assert page.status_code == 404, path
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="en">' in page.text
    zh = shop.new_browser("zh-CN")
    zh.register()
    page = zh.get("/lines/18446744073709551616")
    assert page.status_code == 404 and '<html lang="zh-CN">' in page.text
    assert "未找到" in page.text
