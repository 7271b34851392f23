"""/rates without logging in: a country's out-of-bundle rates per MB, minute and SMS in the
chosen currency, the picker naming countries in the page's language; a country without rates
or a currency not sold is said on the page, translated."""

from __future__ import annotations

import re

from tests.integration.portal.conftest import Browser, Shop
from topup.db.uow import Database


def rate(page: str, unit: str) -> str:
    found = re.search(rf'<dd id="rate-{unit}"[^>]*>(.*?)</dd>', page, re.S)
    assert found, page[:400]
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def test_a_visitor_sees_the_rates_of_a_country(catalogue: Database) -> None:
    page = Browser(catalogue, {}).get("/rates", params={"country": "JP", "currency": "CNY"})
    assert page.status_code == 200
    assert (rate(page.text, "data"), rate(page.text, "voice"), rate(page.text, "sms")) == (
        "CN¥0.60 per MB", "CN¥1.50 per minute", "CN¥0.80 per SMS")
    assert "In Japan" in page.text and 'href="/plans?country=JP"' in page.text
    assert '<option value="JP" selected>Japan</option>' in page.text
    usd = Browser(catalogue, {}).get("/rates", params={"country": "JP", "currency": "USD"})
    assert rate(usd.text, "data") == "$0.09 per MB"


def test_in_chinese_names_and_money_follow_the_language(catalogue: Database) -> None:
    zh = Browser(catalogue, {}, "zh-CN")
    page = zh.get("/rates", params={"country": "TH", "currency": "CNY"}).text
    assert rate(page, "data") == "¥0.50 每 MB" and "在泰国" in page
    assert '<option value="NZ">新西兰</option>' in page  # CLDR's name: no zone of its own
    assert '<option value="HK">中国香港</option>' in page  # the operator's name


def test_no_country_chosen_shows_the_picker_only(catalogue: Database) -> None:
    page = Browser(catalogue, {}).get("/rates")
    assert page.status_code == 200 and 'id="rates"' not in page.text
    assert '<option value="CNY" selected>' in page.text  # the operator's default currency


def test_a_country_without_rates_is_a_translated_404(catalogue: Database) -> None:
    page = Browser(catalogue, {}).get("/rates", params={"country": "AQ"})
    assert page.status_code == 404 and "No rates for this country" in page.text
    assert 'id="rates"' not in page.text and 'id="f-country"' in page.text
    zh = Browser(catalogue, {}, "zh-CN").get("/rates", params={"country": "zz"})
    assert zh.status_code == 404 and "该国家或地区暂无资费信息" in zh.text


def test_only_currencies_the_operator_sells(catalogue: Database) -> None:
    page = Browser(catalogue, {}).get("/rates", params={"country": "JP", "currency": "CHF"})
    assert page.status_code == 422 and "not accepted" in page.text
    assert '<option value="CHF"' not in page.text


def test_a_traveller_sees_their_own_currency_and_finds_the_page_in_the_help(shop: Shop
                                                                           ) -> None:
    page = shop.browser.get("/rates", params={"country": "TH"})
    assert rate(page.text, "data") == "CN¥0.50 per MB"
    # a signed-in traveller's menu leaves it to the help centre's tools
    assert '<a href="/rates" data-menu=' not in page.text
    assert '<a href="/rates">' in shop.browser.get("/help").text
