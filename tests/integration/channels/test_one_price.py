"""One price service, every channel: the same plan at the same moment costs the same in the
API, on the portal's pages, in the USSD menu and in the console; a top-up amount is quoted
the same by the API, USSD, the IVR hotline, the point of sale and a terminal (each adding
the fee its channel's rule asks, as the price service says); the order keeps the quote it
was confirmed with, and its summary and receipt show that quote's lines."""

from __future__ import annotations

import re
from dataclasses import replace
from html import unescape

import pytest

from tests.integration.admin.conftest import sign_in_as
from tests.integration.agents.conftest import make_kiosk, open_counter
from tests.integration.channels.agi_peer import FakeAsterisk, environment, place_call
from tests.integration.channels.conftest import ANON_MSISDN, MSISDN, USSD_TOKEN, World
from tests.integration.channels.test_saved_card import shop  # noqa: F401  (a fixture)
from tests.integration.payments.test_saved_methods import Shop, peer  # noqa: F401  (fixture)
from tests.integration.portal.conftest import Browser, approve, confirm
from tests.integration.pos.conftest import open_till
from topup.catalog import service as catalog
from topup.catalog.quotes import LIST_PRICE, Quote, price
from topup.catalog.service import Plan
from topup.channels.ivr.session import Hotline
from topup.money import Money
from topup.orders.model import Order
from topup.orders.service import line_orders
from topup.payments.providers.sandbox import SandboxProvider

PLAN = "Thailand 7 days 10 GB"


def the_plan(world: World) -> Plan:
    with world.db.unit(readonly=True) as uow:
        return next(p for p in catalog.list_plans(uow, country="TH") if p.name_en == PLAN)


def service(world: World, item: Plan | Money, channel: str, method: str | None = None
            ) -> Quote:
    """What the price service itself answers now."""
    with world.db.unit(readonly=True) as uow:
        return price(uow, item, "CNY", uow.now, channel, method=method)


def ussd(world: World, text: str, phone: str = MSISDN, session: str = "price-1") -> str:
    r = world.api.client.post("/api/v1/ussd", headers={"X-Gateway-Token": USSD_TOKEN}, data={
        "sessionId": session, "serviceCode": "*123#", "phoneNumber": phone, "text": text})
    assert r.status_code == 200, r.text
    return str(r.text)


def shown(html: str, element_id: str) -> str:
    """The text of the element with ``element_id``, tags dropped."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</d[dt]>', html, re.S)
    assert found, f"no #{element_id}"
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def card_price(html: str, code: str) -> str:
    found = re.search(rf'data-plan="{re.escape(code)}".*?class="price[^"]*">([^<]*)<', html,
                      re.S)
    assert found, f"no card for {code}"
    return unescape(found.group(1)).strip()


def test_every_channel_shows_the_same_plan_price(world: World) -> None:
    plan = the_plan(world)
    quoted = service(world, plan, "web")
    text = Money(quoted.total, "CNY").format("en")
    assert (quoted.total, text) == (49_00, "CN¥49.00")
    seen: dict[str, object] = {}

    api = world.api
    me = api.login(str(world.user.email))
    listed = api.client.get("/api/v1/plans", params={"country": "TH", "currency": "CNY"})
    seen["api list"] = next(p for p in listed.json() if p["id"] == plan.id)["quote"]["total"]
    one = api.client.get(f"/api/v1/plans/{plan.id}", params={"currency": "cny"}).json()
    seen["api plan"] = one["quote"]["total"]
    asked = api.client.post("/api/v1/orders/quote", headers=me, json={
        "line_id": world.line.id, "kind": "plan", "plan_id": plan.id, "method": "wallet"})
    assert asked.status_code == 200, asked.text
    seen["api quote"] = asked.json()["total"]
    assert asked.json()["quote"]["lines"] == [
        {"kind": "list_price", "name": "list_price", "amount": quoted.total, "ref": None}]

    sandbox = SandboxProvider(world.db, world.db.settings.secret_key, "http://testserver")
    browser = Browser(world.db, {"sandbox": sandbox})
    assert browser.login(str(world.user.email)).status_code == 200
    seen["portal plans"] = card_price(browser.get(f"/plans?line={world.line.id}").text, plan.code)
    seen["portal plan"] = shown(browser.get(f"/lines/{world.line.id}/plans/{plan.id}").text,
                                "plan-price")
    summary = browser.get(f"/lines/{world.line.id}/checkout",
                          params={"kind": "plan", "plan_id": str(plan.id), "method": "sandbox"})
    seen["portal summary"] = shown(summary.text, "summary-total")
    assert shown(summary.text, "summary-list_price") == text

    menu = ussd(world, "2").splitlines()
    index, row = next((i, r) for i, r in enumerate(menu) if PLAN in r)
    seen["ussd menu"] = row.rsplit(" ", 1)[1]
    assert PLAN in ussd(world, f"2*{index}") and text in ussd(world, f"2*{index}")
    seen["ussd confirm"] = text

    console = sign_in_as(world.db, "admin").get("/admin/plans").text
    row_html = console[console.index(f'data-plan="{plan.code}"'):]
    cell = re.search(r'class="price-now">([^<]*)<', row_html)
    assert cell, "the console shows the price now"
    seen["console"] = next(p for p in unescape(cell.group(1)).split(" · ") if "CN¥" in p)

    as_numbers = {k: v for k, v in seen.items() if isinstance(v, int)}
    as_text = {k: v for k, v in seen.items() if isinstance(v, str)}
    assert set(as_numbers.values()) == {quoted.total}, as_numbers
    assert set(as_text.values()) == {text}, as_text

    # The order keeps the quote it was confirmed with; its pages show that quote's lines.
    world.credit(100_00)
    assert ussd(world, f"2*{index}*1", session="price-2").startswith("END ")
    [bought, _credit] = line_orders_of(world)
    assert (bought.kind, bought.channel, bought.amount, bought.fee) == ("plan", "ussd", 49_00, 0)
    stored = bought.price_quote
    assert stored is not None and stored.lines == quoted.lines and stored.channel == "ussd"
    assert stored.at == world.db.clock() and stored.total == bought.total.amount
    api_order = api.client.get(f"/api/v1/orders/{bought.id}", headers=me).json()
    assert api_order["quote"] == bought.quote and api_order["total"] == quoted.total

    # Paid through a provider from the portal's summary (the same plan again, meant: it says
    # so): the receipt lists the same lines.
    approve(browser, confirm(browser, world.line, summary, confirm_duplicate="yes"))
    paid = line_orders_of(world)[0]
    assert (paid.method, paid.state, paid.total.amount) == ("sandbox", "fulfilled", 49_00)
    assert paid.price_quote is not None and paid.price_quote.lines == quoted.lines
    order_page = browser.get(f"/orders/{paid.id}").text
    assert shown(order_page, "order-list_price") == text
    assert shown(order_page, "order-total") == text
    receipt = browser.get(f"/orders/{paid.id}/receipt")
    assert receipt.status_code == 200, receipt.text[:300]
    rows = dict(re.findall(r"<tr[^>]*><th>([^<]*)</th><td>([^<]*)</td></tr>", receipt.text))
    assert rows["List price"] == rows["Total paid"] == text and "Fee" not in rows


def line_orders_of(world: World, line_id: int | None = None) -> list[Order]:
    with world.db.unit(readonly=True) as uow:
        return line_orders(uow, line_id or world.line.id, limit=10)


def test_a_promo_code_is_refused_the_same_way_everywhere_it_can_be_given(world: World
                                                                         ) -> None:
    plan = the_plan(world)
    me = world.api.login(str(world.user.email))
    body = {"line_id": world.line.id, "kind": "plan", "plan_id": plan.id, "method": "wallet",
            "code": "SPRING10"}
    world.credit(100_00)
    quoted = world.api.client.post("/api/v1/orders/quote", headers=me, json=body)
    ordered = world.api.post("/api/v1/orders", me, key="promo-1", json=body)
    for answer in (quoted, ordered):
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "unknown_promo_code"
    zh = world.api.client.post("/api/v1/orders/quote", json=body,
                               headers={**me, "Accept-Language": "zh-CN"})
    assert zh.json()["title"] == "优惠码无效"
    assert [o.kind for o in line_orders_of(world)] == ["topup"], "nothing was bought"


def test_every_channel_that_sells_top_ups_quotes_the_same_amount(
        world: World, shop: Shop) -> None:  # noqa: F811
    """CN¥100.00 on the anonymous line, now: the list price is the same everywhere; the IVR
    adds the fee its rule asks (the demo's CN¥2.00), exactly as the price service quotes it."""
    amount = Money(100_00, "CNY")
    plain, ivr = service(world, amount, "pos"), service(world, amount, "ivr", "stripe")
    assert (plain.total, plain.fee) == (100_00, None)
    assert (ivr.list_price.amount, ivr.fee_amount, ivr.total) == (100_00, 2_00, 102_00)
    shop.save_card(shop.me)
    listed: dict[str, int] = {}

    asked = shop.api.client.post("/api/v1/orders/quote", headers=shop.me, json={
        "line_id": world.anon.id, "kind": "topup", "amount": amount.amount,
        "method": "stripe"})
    assert asked.status_code == 200, asked.text
    listed["api"] = asked.json()["quote"]["lines"][0]["amount"]
    assert asked.json()["total"] == plain.total

    screen = shop.api.client.post("/api/v1/ussd", headers={"X-Gateway-Token": USSD_TOKEN},
                                  data={"sessionId": "price-3", "serviceCode": "*123#",
                                        "phoneNumber": ANON_MSISDN, "text": "4*1*2"}).text
    assert screen.startswith("CON Top up CN¥100.00") and "Total CN¥100.00" in screen
    listed["ussd"] = amount.amount

    call = place_call(Hotline(world.db, {"stripe": shop.provider}, {"stripe": shop.saver}),
                      FakeAsterisk(environment(ANON_MSISDN.lstrip("+")),
                                   keys=["3", "100", "2"]))
    said = [c for c in call if c.startswith("SAY NUMBER")]
    assert said == ['SAY NUMBER 100 ""', 'SAY NUMBER 2 ""', 'SAY NUMBER 102 ""'], call
    listed["ivr"] = amount.amount

    till = open_till(world.db)
    page = till.topup_confirm(ANON_MSISDN, "100")
    assert page.status_code == 200, page.text[:300]
    assert shown(page.text, "summary-amount") == "CN¥100.00"
    listed["pos"] = amount.amount

    counter = open_counter(world.db)
    operator = counter.agent("Airport Kiosks Ltd", kind="kiosk_operator")
    counter.fund(operator, 200_00)
    sale = make_kiosk(counter, operator).post(
        "/topups", {"msisdn": ANON_MSISDN, "amount": amount.amount, "tender": "cash"})
    assert sale.status_code == 201, sale.text
    assert sale.json()["quote"]["total"] == plain.total
    assert sale.json()["quote"]["channel"] == "kiosk"
    listed["terminal"] = sale.json()["quote"]["lines"][0]["amount"]

    assert set(listed.values()) == {plain.list_price.amount}, listed
    [kiosk_order] = line_orders_of(world, world.anon.id)
    assert kiosk_order.price_quote is not None
    assert [x.kind for x in kiosk_order.price_quote.lines] == [LIST_PRICE]


@pytest.fixture
def world(world: World) -> World:
    """The channels' world with the USSD gateway's token set on the app's settings."""
    world.db.settings = replace(world.db.settings, ussd_gateway_token=USSD_TOKEN)
    return world


def test_a_flash_sale_is_the_same_price_on_every_channel(world: World) -> None:
    """With 20 % off the plan for 48 hours, every channel asks the one price service and shows
    the same sale price at the same moment: the API (list, plan, quote), the portal (plans,
    plan page, summary), USSD and the console."""
    from datetime import timedelta

    from topup.promotions import store
    from topup.promotions.rules import Scope

    plan = the_plan(world)
    with world.db.unit() as uow:
        store.create_campaign(uow, store.CampaignSpec(
            "discount", "Flash sale", uow.now - timedelta(hours=1),
            uow.now + timedelta(hours=47), percent_bp=2000,
            scope=Scope(plans=frozenset({plan.id}))))
    quoted = service(world, plan, "web")
    text = Money(quoted.total, "CNY").format("en")
    assert (quoted.list_price.amount, quoted.total, text) == (49_00, 39_20, "CN¥39.20")
    api = world.api
    me = api.login(str(world.user.email))
    listed = api.client.get("/api/v1/plans", params={"country": "TH", "currency": "CNY"})
    numbers = {
        "api list": next(p for p in listed.json() if p["id"] == plan.id)["quote"]["total"],
        "api plan": api.client.get(f"/api/v1/plans/{plan.id}",
                                   params={"currency": "CNY"}).json()["quote"]["total"],
        "api quote": api.client.post("/api/v1/orders/quote", headers=me, json={
            "line_id": world.line.id, "kind": "plan", "plan_id": plan.id,
            "method": "wallet"}).json()["total"]}
    browser = Browser(world.db, {})
    assert browser.login(str(world.user.email)).status_code == 200
    summary = browser.get(f"/lines/{world.line.id}/checkout",
                          params={"kind": "plan", "plan_id": str(plan.id), "method": "wallet"})
    menu = ussd(world, "2").splitlines()
    console = sign_in_as(world.db, "admin").get("/admin/plans").text
    cell = re.search(r'class="price-now">([^<]*)<',
                     console[console.index(f'data-plan="{plan.code}"'):])
    assert cell, "the console shows the price now"
    texts = {
        "portal plans": card_price(browser.get(f"/plans?line={world.line.id}").text, plan.code),
        "portal plan": shown(browser.get(f"/lines/{world.line.id}/plans/{plan.id}").text,
                             "plan-price"),
        "portal summary": shown(summary.text, "summary-total"),
        "ussd menu": next(r for r in menu if PLAN in r).rsplit(" ", 1)[1],
        "console": next(p for p in unescape(cell.group(1)).split(" · ") if "CN¥" in p)}
    assert set(numbers.values()) == {39_20}, numbers
    assert set(texts.values()) == {text}, texts
