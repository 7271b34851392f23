"""The help centre without logging in: the topics, the hotline and its hours from the
settings, an article in English and in Chinese with the operator's own currencies and payment
methods filled in, and search in both languages (Chinese by substring: it has no spaces)."""

from __future__ import annotations

import re
from dataclasses import replace

from tests.factories import make_line
from tests.integration.portal.conftest import Browser, Shop, confirm, summary
from topup.db.uow import Database

SLUGS = ("top-up", "pay", "redeem-voucher", "install-esim", "auto-renew", "money-late",
         "currencies", "spot-a-scam", "official-channels")


def slugs_in(html: str, where: str = "") -> list[str]:
    """The articles a page lists, or only those of the section that starts at ``where``."""
    if where and where not in html:
        return []
    part = html.split(where, 1)[1].split("</section>", 1)[0] if where else html
    return re.findall(r'data-slug="([a-z-]+)"', part)


def with_hotline(db: Database) -> Database:
    settings = replace(db.settings, hotline_number="+852 3000 0000",
                       hotline_hours="Every day 8:00-22:00", hotline_hours_zh="每天 8:00-22:00",
                       currencies=("HKD", "USD"))
    return Database(db.engine, settings, db.clock)


def test_a_visitor_reads_the_help_centre_in_english(db: Database) -> None:
    b = Browser(with_hotline(db), {})
    page = b.get("/help")
    assert page.status_code == 200
    assert set(slugs_in(page.text)) == set(SLUGS)
    assert "Help centre" in page.text and 'href="tel:+85230000000"' in page.text
    assert "Opening hours: Every day 8:00-22:00" in page.text
    assert 'data-menu="help"' in page.text
    currencies = b.get("/help/currencies").text
    assert "HKD (Hong Kong Dollar)" in currencies and "USD (US Dollar)" in currencies
    assert "CNY" not in currencies and "{{" not in currencies
    late = b.get("/help/money-late").text
    assert "Wait up to 30 minutes" in late and "Call our hotline +852 3000 0000" in late
    assert b.get("/help/no-such-article").status_code == 404


def test_the_same_pages_in_chinese(db: Database) -> None:
    b = Browser(with_hotline(db), {}, "zh-CN")
    page = b.get("/help").text
    assert "帮助中心" in page and "每天 8:00-22:00" in page and "如何识别诈骗" in page
    article = b.get("/help/install-esim").text
    assert "如何安装 eSIM" in article and "激活码" in article and "请拨打我们的热线" in article
    assert "港元" in b.get("/help/currencies").text


def test_search_finds_words_in_titles_and_bodies(db: Database) -> None:
    b = Browser(db, {})
    found = b.get("/help", params={"q": "PIN"}).text
    assert {"redeem-voucher", "spot-a-scam"} <= set(slugs_in(found, 'id="help-results"'))
    titles = slugs_in(b.get("/help", params={"q": "esim INSTALL"}).text, 'id="help-results"')
    assert titles[0] == "install-esim"  # both words in its title
    nothing = b.get("/help", params={"q": "snorkel"}).text
    assert 'id="help-none"' in nothing
    assert "USD" in b.get("/help", params={"q": "usd"}).text  # a filled-in placeholder
    shown = b.get("/help", params={"q": "<b>x</b>"}).text
    assert "<b>x</b>" not in shown and "&lt;b&gt;x&lt;/b&gt;" in shown


def test_search_in_chinese_matches_inside_sentences(db: Database) -> None:
    b = Browser(db, {}, "zh-CN")
    hits = slugs_in(b.get("/help", params={"q": "卡密"}).text, 'id="help-results"')
    assert "redeem-voucher" in hits and "spot-a-scam" in hits
    hits = slugs_in(b.get("/help", params={"q": "二维码"}).text, 'id="help-results"')
    assert "install-esim" in hits
    english = slugs_in(Browser(db, {}).get("/help", params={"q": "卡密"}).text,
                       'id="help-results"')
    assert english == []  # each language searches its own articles


def test_a_traveller_has_help_in_the_menu(shop: Shop) -> None:
    assert 'data-menu="help"' in shop.browser.get("/").text


def help_links(html: str) -> set[str]:
    return set(re.findall(r'href="/help/([a-z-]+)" data-help=', html))


def test_the_pages_where_questions_arise_link_their_answer(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    assert {"pay", "currencies"} <= help_links(b.get(f"/lines/{line.id}/topup").text)
    shown = summary(b, line, kind="topup", amount="10000", method="sandbox")
    assert {"pay", "currencies"} <= help_links(shown.text)
    assert "redeem-voucher" in help_links(b.get(f"/lines/{line.id}/voucher").text)
    assert "auto-renew" in help_links(b.get(f"/lines/{line.id}").text)
    pending = confirm(b, line, shown)
    order = re.search(r"/orders/(\d+)", b.get(f"/lines/{line.id}/history").text)
    assert pending.status_code == 303 and order, pending.text[:300]
    assert "money-late" in help_links(b.get(f"/orders/{order.group(1)}").text)
    esim = make_line(shop.db, secret="3141", kind="esim", smdp_address="smdp.example.com",
                     matching_id="HELP-1")
    b.bind(esim, "3141")
    assert "install-esim" in help_links(b.get(f"/lines/{esim.id}").text)
    check = Browser(shop.db, {}).get("/check").text
    assert {"official-channels", "spot-a-scam"} <= help_links(check)
    article = Browser(shop.db, {}).get("/help/official-channels").text
    assert 'href="/check"' in article  # and back again
