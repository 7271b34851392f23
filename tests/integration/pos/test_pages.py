"""The point of sale as a whole: only agent staff get in, it speaks Chinese when asked, every
link on its pages answers, and the demo's kiosk login opens it with a funded float."""

from __future__ import annotations

import re
from collections import deque
from html import unescape

import pytest

from tests.factories import make_line
from tests.integration.admin.conftest import sign_in_as
from tests.integration.portal.conftest import PASSWORD, Browser
from tests.integration.pos.conftest import Till, error_of, make_cards, open_till
from topup.db.uow import Database
from topup.demo.seed import AGENT, DEMO_AGENT, seed_demo
from topup.subscribers import auth
from topup.subscribers import lines as line_svc

CN = "+8613800138000"
PAGES = ("/pos", "/pos/topup", "/pos/voucher", "/pos/statement", "/pos/sales/1",
         "/pos/topup/confirm?number=8613800138000&amount=100")


def main_of(html: str) -> str:
    return html.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def orphan(db: Database) -> Browser:
    """A login with the role agent that acts for no agent (its link was removed)."""
    with db.unit() as uow:
        auth.register(uow, email="orphan@example.com", phone=None, password=PASSWORD,
                      role="agent")
    browser = Browser(db)
    assert browser.login("orphan@example.com").status_code == 403  # lands on /pos
    return browser


def test_only_agent_staff_get_in(db: Database, till: Till) -> None:
    make_line(db, msisdn=CN, country="CN")
    till.confirm(till.topup_confirm(CN, "100"))  # sale 1 exists
    anonymous = Browser(db)
    r = anonymous.client.get("/pos/statement", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/pos/statement"
    for role in ("customer", "admin", "support", "finance", "agent"):
        browser = sign_in_as(db, role) if role != "agent" else orphan(db)
        for path in PAGES:
            r = browser.get(path)
            assert r.status_code == 403, (role, path, r.status_code)
        home = browser.get("/pos")
        assert 'data-menu="pos"' not in home.text or role == "agent"
        r = browser.submit("/settings", "/pos/voucher", {"serial": "1", "sale_key": "k"})
        assert r.status_code == 403, role
    assert till.float_posted() == 500_00 - 100_00 + 150, "nothing sold by anyone else"
    assert 'data-menu="pos"' in till.get("/pos").text


def test_the_pages_in_chinese(db: Database) -> None:
    till = open_till(db, fund=50_00)
    frozen = make_line(db, msisdn="+8613900139000", country="CN")
    make_line(db, msisdn=CN, country="CN")
    with db.unit() as uow:
        line_svc.freeze(uow, frozen.id, actor=None, reason="fraud check")
    switched = till.browser.submit("/pos", "/language", {"language": "zh-CN", "next": "/pos"})
    assert switched.status_code == 200 and switched.url.path == "/pos"
    home = main_of(switched.text)
    for text in ("销售点", "预付款余额", "¥50.00", "为号码充值", "售卖充值卡",
                 "号码（手机号或 ICCID）", "金额（CNY）", "今天还没有销售。"):
        assert text in home, text
    assert "CN¥" not in home, "Chinese shows the yuan as ¥"
    page = till.get("/pos")
    r = till.post("/pos/topup", page, {"number": "+8613900139000", "amount": "20"})
    assert "已被冻结" in error_of(r.text, "number")
    r = till.post("/pos/topup", page, {"number": CN, "amount": "80"})
    assert error_of(r.text, "amount") == (
        "预付款余额为 ¥50.00，本次销售需要 ¥80.00。请先联系运营商充值预付款。")
    confirm = till.follow(till.post("/pos/topup", page, {"number": CN, "amount": "20"}))
    assert "确认充值" in confirm.text and "您的佣金" in confirm.text
    receipt = till.get(till.confirm(confirm).headers["location"])
    assert "已售出，以下是收据。" in receipt.text and "销售后预付款余额" in receipt.text
    statement = main_of(till.get("/pos/statement").text)
    for text in ("日结单", "期初预付款", "已售充值（1 笔）", "期末预付款", "当日销售"):
        assert text in statement, text
    (card,) = make_cards(db, count=1, face=100_00)
    voucher = till.get("/pos/voucher")
    key = re.search(r'name="sale_key" value="([^"]+)"', voucher.text)
    assert key
    r = till.post("/pos/voucher", voucher, {"serial": card.serial, "sale_key": key.group(1)})
    assert error_of(r.text, "serial").startswith("预付款余额为 ¥30.30")


def test_every_link_on_the_pos_pages_answers(till: Till) -> None:
    make_line(till.db, msisdn=CN, country="CN")
    till.confirm(till.topup_confirm(CN, "100"))
    (card,) = make_cards(till.db, count=1)
    page = till.get("/pos/voucher")
    key = re.search(r'name="sale_key" value="([^"]+)"', page.text)
    assert key
    till.post("/pos/voucher", page, {"serial": card.serial, "sale_key": key.group(1)})
    queue = deque(["/pos", "/pos/topup/confirm?number=8613800138000&amount=10"])
    seen: set[str] = set(queue)
    statuses: dict[str, int] = {}
    while queue and len(statuses) < 80:
        path = queue.popleft()
        r = till.get(path)
        statuses[path] = r.status_code
        if not path.startswith("/pos") or "text/html" not in r.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="(/[^"#]*)"', r.text):
            href = unescape(href)
            if href not in seen and not href.startswith("/logout"):
                seen.add(href)
                queue.append(href)
    bad = {p: s for p, s in statuses.items() if s >= 400}
    assert bad == {}, bad
    assert {"/pos/topup", "/pos/voucher", "/pos/statement", "/pos/sales/1", "/pos/sales/2",
            "/settings", "/static/portal.css"} <= set(statuses), sorted(statuses)


@pytest.mark.parametrize("runs", [2])
def test_the_demo_kiosk_login(db: Database, runs: int) -> None:
    for _ in range(runs):  # the demo is seeded again: nothing is added twice
        with db.unit() as uow:
            seeded = seed_demo(uow)
    assert seeded["agent"] == AGENT
    browser = Browser(db)
    assert browser.login(AGENT[0], AGENT[1]).status_code == 200
    home = main_of(browser.get("/pos").text)
    assert f'id="agent-name">{DEMO_AGENT}<' in home
    assert 'id="float-balance">CN¥5,000.00<' in home
