"""Support requests in the portal, English and Chinese: "Contact support" from an order opens
a form prefilled with the order, its payment reference and its receipt link; the request's
page shows the conversation without staff notes; a traveller reaches only their own."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.integration.portal.conftest import Browser, Shop, confirm, csrf_of, open_shop, summary
from topup.db.uow import Database
from topup.orders import service as orders
from topup.orders.tables import orders as order_table
from topup.subscribers import auth
from topup.support import service as support


def _pending_order(shop: Shop) -> int:
    page = summary(shop.browser, shop.line, kind="topup", amount="10000", method="sandbox")
    made = confirm(shop.browser, shop.line, page)
    assert made.status_code == 303, made.text[:300]
    with shop.db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.max(order_table.c.id))).scalar_one())


def _open(b: Browser, page: str, **fields: str) -> str:
    shown = b.get(page)
    assert shown.status_code == 200, shown.text[:300]
    data = {"csrf_token": csrf_of(shown.text)}
    for name in ("order_id", "line_id", "subject", "body"):
        found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', shown.text)
        if found:
            data[name] = found.group(1)
    made = b.client.post("/tickets/new", data=data | fields, follow_redirects=False)
    assert made.status_code == 303, re.findall(r'href="#f-[^<]*<', made.text)
    return str(made.headers["location"]).split("?")[0]


def test_contact_support_from_an_order_and_the_conversation(db: Database) -> None:
    shop = open_shop(db)
    b = shop.browser
    order_id = _pending_order(shop)
    order_page = b.get(f"/orders/{order_id}")
    assert f'href="/tickets/new?order={order_id}"' in order_page.text
    form = b.get(f"/tickets/new?order={order_id}")
    assert "My top-up has not arrived" in form.text and f"Order: {order_id}" in form.text
    with db.unit(readonly=True) as uow:
        ref = orders.get_order(uow, order_id).payment_ref
    assert ref and ref in form.text
    where = _open(b, f"/tickets/new?order={order_id}", body="Paid 10 minutes ago, nothing.")
    ticket_id = int(where.rsplit("/", 1)[1])
    with db.unit() as uow:
        ticket = support.get_ticket(uow, ticket_id)
        assert (ticket.order_id, ticket.line_id) == (order_id, shop.line.id)
        support.note(uow, ticket_id, ticket.customer_id or 0, "INTERNAL: card issuer slow")
        agent = auth.register(uow, email="agent-p@example.com", phone=None,
                              password="correct-horse-battery", role="support")
        support.reply(uow, ticket_id, agent.id, "We see it and are checking.")
    page = b.get(where)
    assert "We see it and are checking." in page.text and "INTERNAL" not in page.text
    assert 'data-state="waiting"' in page.text
    answer = b.client.post(f"{where}/messages", data={
        "csrf_token": csrf_of(page.text), "body": "Thanks"}, follow_redirects=False)
    assert answer.status_code == 303
    assert "Thanks" in b.get(where).text
    assert f'href="/tickets/{ticket_id}"' in b.get("/tickets").text
    empty = b.client.post(f"{where}/messages", data={"csrf_token": csrf_of(page.text),
                                                      "body": "  "})
    assert empty.status_code == 422 and "Write your message." in empty.text


def test_from_a_line_in_chinese_and_others_see_nothing(db: Database) -> None:
    shop = open_shop(db, lang="zh-CN")
    b = shop.browser
    line_page = b.get(f"/lines/{shop.line.id}")
    assert f'href="/tickets/new?line={shop.line.id}"' in line_page.text
    where = _open(b, f"/tickets/new?line={shop.line.id}", body="我的流量用不了")
    page = b.get(where)
    assert "我的流量用不了" in page.text and "客服" in page.text
    assert "联系客服" in line_page.text
    other = open_shop(db)
    assert other.browser.get(where).status_code == 404
    assert other.browser.get(f"/tickets/new?line={shop.line.id}").status_code == 404
    assert other.browser.client.post(f"{where}/messages", data={
        "csrf_token": csrf_of(other.browser.get("/tickets").text), "body": "hi"}
    ).status_code == 404
    # a form that names someone else's line is refused, nothing opened
    sneaky = other.browser.get("/tickets/new")
    r = other.browser.client.post("/tickets/new", data={
        "csrf_token": csrf_of(sneaky.text), "subject": "x", "body": "y",
        "line_id": str(shop.line.id)})
    assert r.status_code == 422
    with db.unit(readonly=True) as uow:
        assert len(support.tickets_of(uow, shop.line.customer_id or 0)) <= 1


def test_a_general_request_and_the_menu(db: Database) -> None:
    shop = open_shop(db)
    b = shop.browser
    home = b.get("/")
    assert 'href="/tickets"' in home.text
    assert 'id="no-tickets"' in b.get("/tickets").text
    missing = b.client.post("/tickets/new", data={
        "csrf_token": csrf_of(b.get("/tickets/new").text), "subject": "", "body": ""})
    assert missing.status_code == 422 and "Say in a few words" in missing.text
    where = _open(b, "/tickets/new", subject="Roaming in Japan?", body="Does it work?")
    assert "Roaming in Japan?" in b.get(where).text
