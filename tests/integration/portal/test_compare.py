"""Plans as a traveller compares them: names instead of codes in both languages, the price
per GB and per day (from the price service's quote), /plans/compare with one to four plans
(and a clear refusal otherwise), and an order summary that says how long a plan lasts and
when it starts."""

from __future__ import annotations

import re

import pytest

from tests.integration.portal.conftest import (
    Browser,
    Shop,
    confirm,
    credit,
    open_shop,
    plan_id,
    summary,
)
from topup.catalog import service as catalog
from topup.catalog.quotes import price
from topup.db.uow import Database


def cards(html: str) -> dict[str, str]:
    """Each plan card's text (tags dropped, spaces squeezed), by plan code."""
    found = re.findall(r'data-plan="([^"]+)">(.*?)</li>', html, re.S)
    return {code: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip()
            for code, body in found}


def fact(html: str, cls: str, code: str) -> str:
    found = re.search(rf'data-plan="{code}">.*?<dd class="{cls}">(.*?)</dd>', html, re.S)
    assert found, (code, cls)
    return found.group(1)


def test_plan_cards_name_places_and_show_per_gb_and_per_day(catalogue: Database) -> None:
    page = Browser(catalogue).get("/plans", params={"country": "TH"}).text
    shown = cards(page)
    assert "Where Thailand" in shown["TH-7D-10GB"]
    assert "Where Asia (14 countries)" in shown["ASIA-14D-10GB"]
    assert (fact(page, "per-gb", "TH-7D-10GB"), fact(page, "per-day", "TH-7D-10GB")) == (
        "CN¥4.90", "CN¥7.00")
    assert fact(page, "per-gb", "TH-30D-20GB") == "CN¥4.95"
    assert 'href="/rates?country=TH&amp;currency=CNY"' in page  # what is not covered costs
    zh = Browser(catalogue, lang="zh-CN").get("/plans", params={"country": "TH"}).text
    assert "泰国" in cards(zh)["TH-7D-10GB"] and "亚洲 (14 个国家或地区)" in cards(zh)[
        "ASIA-14D-10GB"]
    assert fact(zh, "per-day", "TH-7D-10GB") == "¥7.00"


def test_per_gb_and_per_day_divide_the_price_service_s_quote(catalogue: Database) -> None:
    with catalogue.unit(readonly=True) as uow:
        plan = catalog.get_plan_by_code(uow, "JP-8D-15GB")
        quoted = price(uow, plan, "CNY", uow.now, "web")
    page = Browser(catalogue).get("/plans", params={"country": "JP"}).text
    assert re.search(r'data-plan="JP-8D-15GB">.*?<dd class="price">CN¥99.00<', page, re.S)
    assert quoted.total == 99_00
    assert fact(page, "per-day", "JP-8D-15GB") == "CN¥12.38"  # 12.375 rounded half up
    assert fact(page, "per-gb", "JP-8D-15GB") == "CN¥6.60"


def compare(b: Browser, *ids: object) -> tuple[int, str]:
    r = b.get("/plans/compare", params={"ids": [str(i) for i in ids]})
    return r.status_code, r.text


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_one_to_four_plans_side_by_side(catalogue: Database, count: int) -> None:
    codes = ["TH-7D-10GB", "SEA-7D-6GB", "ASIA-14D-10GB", "JP-8D-15GB"][:count]
    status, page = compare(Browser(catalogue), *(plan_id(catalogue, c) for c in codes))
    assert status == 200
    assert re.findall(r'<li class="card plan" data-plan="([^"]+)"', page) == codes
    assert f'class="compare cols-{count}"' in page
    shown = cards(page)
    assert "Price CN¥49.00" in shown["TH-7D-10GB"] and "Per GB CN¥4.90" in shown["TH-7D-10GB"]
    assert "Valid for 7 days" in shown["TH-7D-10GB"]
    if count >= 3:
        assert "14 countries" in shown["ASIA-14D-10GB"]
        assert "Japan, Laos, Macao" in shown["ASIA-14D-10GB"]  # names, sorted
    if count == 4:
        assert "Starts when you first use data" in shown["JP-8D-15GB"]


def test_ids_may_come_comma_separated_and_repeats_count_once(catalogue: Database) -> None:
    a, b = plan_id(catalogue, "TH-1D-1GB"), plan_id(catalogue, "TH-7D-10GB")
    page = Browser(catalogue).get(f"/plans/compare?ids={a},{b}&ids={a}").text
    assert re.findall(r'<li class="card plan" data-plan="([^"]+)"', page) == [
        "TH-1D-1GB", "TH-7D-10GB"]


def test_five_none_or_bad_ids_are_a_clear_refusal(catalogue: Database) -> None:
    five = [plan_id(catalogue, c) for c in ("TH-1D-1GB", "TH-7D-10GB", "TH-30D-20GB",
                                            "MY-1D-1GB", "MY-7D-10GB")]
    b = Browser(catalogue)
    for ids, status, text in (
            (five, 422, "Compare at most 4 plans at a time"),
            ((), 422, "Tick at least one plan to compare."),
            (("abc",), 422, "This address does not name plans to compare."),
            (("-3",), 422, "This address does not name plans to compare."),
            (("99999999999999999999999",), 422, "This address does not name plans"),
            ((five[0], 987654), 422, "does not exist or is no longer on sale")):
        got, page = compare(b, *ids)
        assert (got, text in page) == (status, True), (ids, got)
        assert 'id="compare-error"' in page and 'class="compare' not in page
    got, page = compare(Browser(catalogue, lang="zh-CN"), *five)
    assert got == 422 and "一次最多比较 4 个套餐" in page


def test_the_plans_page_ticks_plans_into_the_compare_form(shop: Shop) -> None:
    page = shop.browser.get("/plans", params={"country": "TH"}).text
    assert '<form method="get" action="/plans/compare" id="compare-form"' in page
    assert f'<input type="hidden" name="line" value="{shop.line.id}">' in page
    pid = plan_id(shop.db, "TH-7D-10GB")
    assert f'name="ids" value="{pid}" form="compare-form"' in page
    page = shop.browser.get("/plans/compare", params={"ids": pid, "line": shop.line.id}).text
    assert f'href="/lines/{shop.line.id}/plans/{pid}"' in page  # buy from the comparison


def test_the_summary_says_where_how_long_and_from_when(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    page = summary(b, line, kind="plan", plan_id=str(plan_id(shop.db, "TH-7D-10GB")),
                   method="wallet").text
    assert re.search(r'id="summary-where">Thailand<', page)
    assert re.search(r'id="summary-validity">7 days<', page)
    today = re.search(r'id="summary-start" data-start="purchase">when you pay: (.*?)</dd>',
                      page)
    assert today and re.match(r"[A-Z][a-z]{2} \d{1,2}, \d{4}$", today.group(1))
    first = summary(b, line, kind="plan", plan_id=str(plan_id(shop.db, "JP-8D-15GB")),
                    method="wallet").text
    assert re.search(r'data-start="first_use">when you first use data<', first)
    credit(shop.db, line, 100_00)
    paid = confirm(b, line, summary(b, line, kind="plan", method="wallet",
                                    plan_id=str(plan_id(shop.db, "SEA-7D-6GB"))))
    order = b.get(paid.headers["location"]).text
    assert re.search(r'id="order-where">South-East Asia<', order)
    assert re.search(r'id="order-start" data-start="purchase">[A-Z][a-z]{2} \d', order)
    line_page = b.get(f"/lines/{line.id}").text
    assert "South-East Asia" in line_page and '<span class="muted">SEA</span>' not in line_page


def test_in_chinese_the_summary_and_plan_page_name_places(db: Database) -> None:
    shop = open_shop(db, lang="zh-CN")
    b, line = shop.browser, shop.line
    pid = plan_id(db, "HKMO-5D-5GB")
    page = b.get(f"/lines/{line.id}/plans/{pid}").text
    assert re.search(r'id="plan-where">港澳<', page)
    assert re.search(r'id="plan-countries">中国澳门、中国香港<', page)
    page = summary(b, line, kind="plan", plan_id=str(pid), method="wallet").text
    assert re.search(r'id="summary-where">港澳<', page) and "付款时（" in page
    assert re.search(r'id="summary-validity">5 天<', page)


def test_the_esim_store_names_where_its_plans_work(catalogue: Database) -> None:
    from tests.integration.esim.test_store import stock_up, vendor_rows

    stock_up(catalogue, vendor_rows(1, zone="JP", ptype="jp-only"))
    page = Browser(catalogue, lang="zh-CN").get("/store?country=JP&currency=JPY").text
    assert re.search(r'data-plan="JP-7D-10GB">.*?<dd class="where">日本<', page, re.S)
