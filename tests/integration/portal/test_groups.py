"""Shared data in the portal: a traveller makes a group of a phone and a tablet, gives the
tablet a cap, buys a Thailand week for the group through the plan and checkout pages, sees
the pool and each line's use, takes the tablet out; forms refuse what is wrong in the page's
language; nobody else opens the group."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.factories import make_line
from tests.integration.portal.conftest import (
    Browser,
    Shop,
    confirm,
    credit,
    csrf_of,
    open_shop,
    plan_id,
    use,
)
from topup.db.uow import Database
from topup.orders.tables import orders

GB = 1024**3
MIB = 1024**2


def _group_id(response_url: str) -> int:
    found = re.search(r"/groups/(\d+)", response_url)
    assert found, response_url
    return int(found.group(1))


def _member(page: str, line_id: int) -> str:
    found = re.search(rf'<li data-line="{line_id}" data-used="(\d+)">', page)
    assert found, f"line {line_id} is not listed"
    return found.group(1)


def test_a_traveller_shares_a_plan_between_two_lines(shop: Shop) -> None:
    b, phone = shop.browser, shop.line
    tablet = make_line(shop.db, secret="2718", country="TH")
    assert b.bind(tablet).status_code == 200
    credit(shop.db, phone, 200_00)

    assert 'href="/groups" data-menu="groups"' in b.get("/").text
    made = b.submit("/groups", "/groups", {"name": "Family trip"})
    assert made.status_code == 200 and "The group is ready." in made.text
    group = _group_id(str(made.url))
    page = f"/groups/{group}"
    joined = b.submit(page, f"{page}/members", {"line_id": str(phone.id), "cap_mb": ""})
    assert "The line is in the group" in joined.text
    b.submit(page, f"{page}/members", {"line_id": str(tablet.id), "cap_mb": "1024"})
    shown = b.get(page).text
    assert "Cap: 1" in shown and "No cap" in shown

    # buy a Thailand week for the group from the phone's wallet
    week = plan_id(shop.db, "TH-7D-10GB")
    chosen = b.get(f"{page}/buy", params={"plan": str(week), "line": str(phone.id)})
    assert chosen.url.path == f"/lines/{phone.id}/plans/{week}"
    assert "For the group Family trip" in chosen.text
    checkout = b.client.post(f"/lines/{phone.id}/plans/{week}", data={
        "csrf_token": csrf_of(chosen.text), "method": "wallet", "group": str(group)})
    assert checkout.status_code == 200 and 'id="summary-group">Family trip' in checkout.text
    done = confirm(b, phone, checkout, group=str(group))
    assert done.status_code == 303, done.text
    with shop.db.unit(readonly=True) as uow:
        bought = uow.conn.execute(select(orders.c.group_id, orders.c.state).where(
            orders.c.kind == "plan")).one()
    assert tuple(bought) == (group, "fulfilled")

    use(shop.db, phone, 3 * GB, "portal-phone-1")
    use(shop.db, tablet, 2 * GB, "portal-tablet-1")  # 1 GB of it is past the tablet's cap
    shown = b.get(page).text
    assert f'id="pool-gauge" data-remaining="{6 * GB}" data-total="{10 * GB}"' in shown
    assert (_member(shown, phone.id), _member(shown, tablet.id)) == (str(3 * GB), str(GB))
    listing = b.get("/groups").text
    assert "6 GB / 10 GB" in listing

    out = b.submit(page, f"{page}/members/{tablet.id}/remove", {})
    assert "The line is out of the group." in out.text
    assert "(left the group)" in out.text and _member(out.text, tablet.id) == str(GB)


def test_forms_refuse_in_the_pages_language(db: Database) -> None:
    shop = open_shop(db, lang="zh-CN")
    b = shop.browser
    empty = b.submit("/groups", "/groups", {"name": "   "})
    assert empty.status_code == 422 and "共享组信息无效" in empty.text
    made = b.submit("/groups", "/groups", {"name": "旅行"})
    page = f"/groups/{_group_id(str(made.url))}"
    assert "共享流量" in made.text and "添加号码" in made.text
    bad_cap = b.submit(page, f"{page}/members", {"line_id": str(shop.line.id),
                                                 "cap_mb": "-5"})
    assert bad_cap.status_code == 422 and "请输入整数 MB" in bad_cap.text
    b.submit(page, f"{page}/members", {"line_id": str(shop.line.id)})
    second = b.submit("/groups", "/groups", {"name": "第二组"})
    other = f"/groups/{_group_id(str(second.url))}"
    again = b.submit(other, f"{other}/members", {"line_id": str(shop.line.id)})
    assert again.status_code == 409 and "该号码已在一个共享组中" in again.text


def test_another_traveller_cannot_open_the_group(shop: Shop) -> None:
    made = shop.browser.submit("/groups", "/groups", {"name": "Mine"})
    page = f"/groups/{_group_id(str(made.url))}"
    stranger = Browser(shop.db)
    stranger.register()
    assert stranger.get(page).status_code == 404
    r = stranger.submit("/groups", f"{page}/members", {"line_id": str(shop.line.id)})
    assert r.status_code == 404
    bought = stranger.get(f"/lines/{shop.line.id}/plans/1", params={"group": page[8:]})
    assert bought.status_code == 404
