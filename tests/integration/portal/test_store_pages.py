"""The eSIM store's pages without a browser: destinations and offers (sold out shown as such),
a guest whose address already has an account told so next to the field in Chinese, a guest
who buys signed in at once and sent to the provider, a signed-in traveller's order page with
the eSIM kept for them, and held eSIMs offered more data."""

from __future__ import annotations

from sqlalchemy import select

from tests.factories import make_user
from tests.integration.esim.test_store import stock_up, vendor_rows
from tests.integration.portal.conftest import Browser, Shop, csrf_of, hidden, plan_id
from topup.esim import store
from topup.orders.tables import orders


def buy_form(b: Browser, plan: int, **data: str):  # type: ignore[no-untyped-def]
    page = b.get(f"/store/plans/{plan}?currency=JPY")
    assert page.status_code == 200
    return b.client.post(f"/store/plans/{plan}", data={
        "csrf_token": csrf_of(page.text), "order_key": hidden(page.text, "order_key"),
        "currency": "JPY", "method": "sandbox", **data}, follow_redirects=False)


def test_offers_by_destination_with_sold_out_marked(shop: Shop) -> None:
    stock_up(shop.db, vendor_rows(1, zone="JP", ptype="jp-only"))
    guest = shop.new_browser()
    page = guest.get("/store")
    assert page.status_code == 200 and "Where are you going?" in page.text
    offers = guest.get("/store?country=JP&currency=JPY")
    assert 'data-plan="JP-7D-10GB"' in offers.text and "Buy this eSIM" in offers.text
    assert "Sold out for now" not in offers.text
    assert buy_form(guest, plan_id(shop.db, "JP-7D-10GB"),
                    email="first@example.com").status_code == 303
    later = shop.new_browser().get("/store?country=JP&currency=JPY")
    assert "Sold out for now" in later.text and "Buy this eSIM" not in later.text
    none = shop.new_browser().get("/store?country=TH&currency=JPY")
    assert "No eSIM is sold for this destination yet." in none.text


def test_a_guest_with_an_account_is_asked_to_log_in_in_chinese(shop: Shop) -> None:
    stock_up(shop.db, vendor_rows(1))
    make_user(shop.db, email="known@example.com")
    zh = shop.new_browser(lang="zh-CN")
    r = buy_form(zh, plan_id(shop.db, "JP-7D-10GB"), email="KNOWN@example.com")
    assert r.status_code == 409
    assert 'id="e-email"' in r.text and "该邮箱已注册，请先登录再购买" in r.text
    assert "已有账户？" in r.text  # the way to log in, on the same page


def test_a_guest_buys_is_signed_in_and_sees_the_esim_kept(shop: Shop) -> None:
    stock_up(shop.db, vendor_rows(2))
    guest = shop.new_browser()
    r = buy_form(guest, plan_id(shop.db, "JP-7D-10GB"), email="new@example.com")
    assert r.status_code == 303 and "/sandbox/pay/" in r.headers["location"]
    home = guest.get("/")
    assert home.status_code == 200 and "Log out" in home.text  # signed in as the new account
    with shop.db.unit(readonly=True) as uow:
        order_id = uow.conn.execute(select(orders.c.id).where(
            orders.c.channel == store.CHANNEL)).scalar_one()
    page = guest.get(f"/orders/{order_id}")
    assert 'data-esim-state="reserved"' in page.text and "it is yours once the payment" in page.text
    assert 'data-poll=' in page.text  # waits for the payment
    # the traveller with a line (not an eSIM) is offered no "add data" list
    mine = shop.browser.get("/store?country=JP&currency=JPY")
    assert 'id="add-data"' not in mine.text


def test_a_guest_must_give_an_address(shop: Shop) -> None:
    stock_up(shop.db, vendor_rows(1))
    r = buy_form(shop.new_browser(), plan_id(shop.db, "JP-7D-10GB"), email="")
    assert r.status_code == 422 and 'id="e-email"' in r.text
