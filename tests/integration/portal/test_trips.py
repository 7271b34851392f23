"""/trip: the trip planner in the portal, signed out and signed in, in English and Chinese;
"Buy all" buys today's plans of the trip from the wallet, once, and the books balance."""

from __future__ import annotations

import re

from tests.integration.portal.conftest import Browser, Shop, credit, csrf_of, hidden, plan_id
from topup.charging.buckets import line_buckets
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.orders import service as orders

# the test clock is 2026-11-22; JP-8D-15GB starts at first use, the others at purchase
JAPAN_KOREA = {"c1": "JP", "f1": "2026-11-25", "l1": "2026-12-02",
               "c2": "KR", "f2": "2026-12-02", "l2": "2026-12-06"}
TODAY_JAPAN = {"c1": "JP", "f1": "2026-11-22", "l1": "2026-11-29", "use": "heavy"}


def plans_of(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-plan="([A-Z0-9-]+)" data-start="([0-9-]+)"', html)


def test_a_visitor_plans_japan_then_korea_in_both_languages(db: Database) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
    b = Browser(db, {})
    empty = b.get("/trip")
    assert empty.status_code == 200 and 'id="trip-result"' not in empty.text
    assert '<option value="JP">Japan</option>' in empty.text
    page = b.get("/trip", params=JAPAN_KOREA)
    assert page.status_code == 200, page.text[:500]
    assert plans_of(page.text) == [("JP-7D-10GB", "2026-11-25"), ("JP-1D-1GB", "2026-12-02"),
                                   ("KR-7D-10GB", "2026-12-02")]
    assert "CN¥153.00" in page.text and "Log in to buy these plans" in page.text
    assert "on Nov 25, 2026: it starts when you buy it" in page.text
    usd = b.get("/trip", params={**JAPAN_KOREA, "currency": "USD"})
    assert "Total: $22.97" in usd.text and '<option value="USD" selected>' in usd.text
    zh = Browser(db, {}, "zh-CN").get("/trip", params={**JAPAN_KOREA, "use": "light"})
    assert plans_of(zh.text) == [("ASIA-14D-10GB", "2026-11-25")]
    assert '<option value="JP">日本</option>' in zh.text and "你的套餐" in zh.text
    assert "13 天：日本, 韩国" in zh.text and "币种" in zh.text


def test_a_country_no_plan_covers_and_bad_input_are_said_on_the_page(db: Database) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
    b = Browser(db, {})
    page = b.get("/trip", params={"c1": "JP", "f1": "2026-11-25", "l1": "2026-11-26",
                                  "use": "mb", "mb": "30000"})
    assert 'data-covered="no"' in page.text
    assert "No plan we sell covers Japan with 30000 MB a day." in page.text
    half = b.get("/trip", params={"c1": "JP", "f1": "2026-11-25"})
    assert half.status_code == 200 and "Choose the country and both dates of this leg." in \
        half.text and 'id="trip-result"' not in half.text
    past = b.get("/trip", params={"c1": "JP", "f1": "2026-11-01", "l1": "2026-11-02"})
    assert "before today" in past.text
    zh = Browser(db, {}, "zh-CN").get("/trip", params={"c1": "JP", "f1": "2026-11-05",
                                                        "l1": "2026-11-02"})
    assert "行程无效" in zh.text
    mb = b.get("/trip", params={**JAPAN_KOREA, "use": "mb", "mb": "lots"})
    assert "light, normal, heavy or 1 to 50000 MB" in mb.text


def test_buy_all_buys_todays_plans_from_the_wallet_once(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    page = b.get("/trip", params=TODAY_JAPAN)
    found = plans_of(page.text)
    assert found and "Top up" in page.text and 'id="trip-short"' in page.text
    credit(shop.db, line, 1000_00)
    page = b.get("/trip", params=TODAY_JAPAN)
    assert 'id="trip-buy-all"' in page.text
    form = {k: v for k, v in re.findall(
        r'<input type="hidden" name="([a-z0-9_]+)" value="([^"]*)">',
        page.text.split('id="trip-buy"')[1].split("</form>")[0])}
    form["csrf_token"] = csrf_of(page.text)
    assert form["order_key"] == hidden(page.text, "order_key") and form["line"] == str(line.id)
    first = b.client.post("/trip/buy", data=form)
    assert first.status_code == 200 and first.url.path == f"/lines/{line.id}"
    again = b.client.post("/trip/buy", data=form)  # the same page pressed twice: once
    assert again.url.path == f"/lines/{line.id}"
    with shop.db.unit(readonly=True) as uow:
        bought = [o for o in orders.line_orders(uow, line.id, limit=20) if o.kind == "plan"]
        buckets = line_buckets(uow, line.id)
    # JP-8D-15GB starts at first use: bought now; JP-7D-10GB starts at purchase on the 27th:
    # the page sends the traveller to buy it that day
    assert found == [("JP-8D-15GB", "2026-11-22"), ("JP-7D-10GB", "2026-11-27")]
    assert [(o.plan_id, o.state, o.method) for o in bought] == [
        (plan_id(shop.db, "JP-8D-15GB"), "fulfilled", "wallet")]
    assert len(buckets) == 1 and buckets[0].valid_from is None  # waits for first use
    assert f'href="/lines/{line.id}/plans/{plan_id(shop.db, "JP-7D-10GB")}"' in page.text
    assert "Buy this plan on Nov 27, 2026" in page.text


def test_a_changed_plan_is_not_bought_blind(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    credit(shop.db, line, 1000_00)
    page = b.get("/trip", params=TODAY_JAPAN)
    data = {**TODAY_JAPAN, "line": str(line.id), "total": "1", "csrf_token": csrf_of(page.text),
            "order_key": hidden(page.text, "order_key")}
    r = b.client.post("/trip/buy", data=data)
    assert r.status_code == 409 and "The prices or plans changed" in r.text
    with shop.db.unit(readonly=True) as uow:
        assert not [o for o in orders.line_orders(uow, line.id, limit=20) if o.kind == "plan"]
