"""A traveller's lines in the portal: binding, the dashboard (balance, data gauge, plans,
countdown, chart), auto-renew, the eSIM QR code, and nobody else's lines."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.factories import make_line
from tests.integration.portal.conftest import (
    Browser,
    Shop,
    approve,
    confirm,
    credit,
    open_shop,
    plan_id,
    summary,
    use,
)
from topup.charging.sessions import QUOTA, Ask, charge
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.subscribers import lines as line_svc

GIB = 1024**3
MIB = 1024**2


def test_binding_refuses_wrong_pairs_without_saying_which_half(db: Database) -> None:
    line = make_line(db, secret="9999")
    b = Browser(db)
    b.register()
    empty = b.submit("/lines/bind", "/lines/bind", {"identifier": "", "secret": ""})
    assert empty.status_code == 422 and 'id="e-identifier"' in empty.text
    wrong = b.submit("/lines/bind", "/lines/bind", {"identifier": line.iccid, "secret": "1111"})
    assert wrong.status_code == 422
    assert "The number and card secret do not match" in wrong.text
    zh = Browser(db, lang="zh-CN")
    zh.register()
    refused = zh.submit("/lines/bind", "/lines/bind", {"identifier": line.iccid, "secret": "0"})
    assert "号码与卡密不匹配" in refused.text
    ok = b.submit("/lines/bind", "/lines/bind", {"identifier": line.iccid, "secret": "9999"})
    assert ok.url.path == f"/lines/{line.id}" and "The line is now bound" in ok.text
    taken = zh.submit("/lines/bind", "/lines/bind", {"identifier": line.iccid,
                                                     "secret": "9999"})
    assert taken.status_code == 422 and "该号码已绑定到其他账户" in taken.text


def test_dashboard_shows_balance_gauge_plans_and_a_falling_gauge(
        shop: Shop, clock: FrozenClock) -> None:
    b, line = shop.browser, shop.line
    home = b.get("/")
    assert f'data-line="{line.id}"' in home.text and "CN¥0.00" in home.text
    credit(shop.db, line, 100_00)
    page = summary(b, line, kind="plan", plan_id=str(plan_id(shop.db, "TH-7D-10GB")),
                   method="wallet")
    done = b.get(confirm(b, line, page).headers["location"])
    assert "Credited" in done.text
    dash = b.get(f"/lines/{line.id}")
    assert dash.status_code == 200
    assert "CN¥51.00" in dash.text  # 100.00 credited, 49.00 spent
    assert f'data-remaining="{10 * GIB}" data-total="{10 * GIB}"' in dash.text
    assert "Thailand 7 days 10 GB" in dash.text and "7 days left" in dash.text
    assert 'data-status="active"' in dash.text
    use(shop.db, line, 3 * GIB, "r-1")
    clock.advance(days=1)
    use(shop.db, line, 1 * GIB, "r-2")
    b.login(shop.email)  # a day later the session has long gone idle
    later = b.get(f"/lines/{line.id}")
    assert f'data-remaining="{6 * GIB}" data-total="{10 * GIB}"' in later.text
    assert "<strong class=\"data-left\">6 GB</strong>" in later.text
    bars = dict(re.findall(r'data-day="([\d-]+)" data-bytes="(\d+)"', later.text))
    today = clock.now.date()
    assert len(bars) == 30 and bars[today.isoformat()] == str(GIB)
    assert bars[(today - timedelta(days=1)).isoformat()] == str(3 * GIB)
    assert "Busiest day: 3 GB" in later.text


def test_the_dashboard_shows_data_set_aside_for_a_connection_online_now(shop: Shop) -> None:
    """While the network holds data for a session, the gauge leaves it out and the page says
    so; once the session ends, what was not used comes back."""
    b, line = shop.browser, shop.line
    credit(shop.db, line, 100_00)
    page = summary(b, line, kind="plan", plan_id=str(plan_id(shop.db, "TH-7D-10GB")),
                   method="wallet")
    b.get(confirm(b, line, page).headers["location"])
    with shop.db.unit() as uow:
        charge(uow, "pgw;42", 0, "initial", [Ask(1, "data")], line=line, country="TH")
        charge(uow, "pgw;42", 1, "update", [Ask(1, "data", used=3 * MIB)])
    dash = b.get(f"/lines/{line.id}")
    held = QUOTA["data"]
    assert f'data-held="{held}" data-used="{3 * MIB}"' in dash.text
    assert "Online now (1 connection):" in dash.text
    assert "10 MB set aside for it, 3 MB used so far." in dash.text
    assert f'data-remaining="{10 * GIB - 3 * MIB - held}"' in dash.text
    b.submit("/settings", "/settings/language", {"language": "zh-CN"})
    zh = b.get(f"/lines/{line.id}").text
    assert "正在上网（1 个连接）" in zh and "已为其预留 10 MB，目前已用 3 MB。" in zh
    b.submit("/settings", "/settings/language", {"language": "en"})
    with shop.db.unit() as uow:
        charge(uow, "pgw;42", 2, "terminate", [Ask(1, "data", used=MIB)])
    after = b.get(f"/lines/{line.id}")
    assert 'id="in-use"' not in after.text
    assert f'data-remaining="{10 * GIB - 4 * MIB}"' in after.text


def test_the_dashboard_speaks_chinese(db: Database) -> None:
    shop = open_shop(db, lang="zh-CN")
    page = shop.browser.get(f"/lines/{shop.line.id}")
    assert '<html lang="zh-CN">' in page.text
    assert "余额" in page.text and "¥0.00" in page.text and "自动续订" in page.text


def test_auto_renew_switch(shop: Shop) -> None:
    b, path = shop.browser, f"/lines/{shop.line.id}"
    on = b.submit(path, f"{path}/auto-renew", {"auto_renew": "on"})
    assert on.url.path == path and "Auto-renew is on." in on.text
    assert 'name="auto_renew" value="on" checked' in on.text
    off = b.submit(path, f"{path}/auto-renew", {})
    assert "Auto-renew is off." in off.text and 'value="on" checked' not in off.text
    with shop.db.unit() as uow:
        assert line_svc.get_line(uow, shop.line.id).auto_renew is False


def test_esim_activation_code_as_text_and_qr(db: Database) -> None:
    shop = open_shop(db, kind="esim", smdp_address="smdp.example.com",
                     matching_id="DEMO-ESIM-0001")
    page = shop.browser.get(f"/lines/{shop.line.id}")
    code = re.search(r'<code id="esim-code" class="code">([^<]+)</code>', page.text)
    assert code and code.group(1) == "LPA:1$smdp.example.com$DEMO-ESIM-0001"
    qr = shop.browser.get(f"/lines/{shop.line.id}/esim.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in qr.content and b"<path" in qr.content
    assert b"<title>eSIM activation code</title>" in qr.content
    sim = make_line(db, secret="5555")
    assert shop.browser.bind(sim, "5555").status_code == 200
    assert "esim-code" not in shop.browser.get(f"/lines/{sim.id}").text
    assert shop.browser.get(f"/lines/{sim.id}/esim.svg").status_code == 404


def test_nobody_reaches_another_travellers_line(shop: Shop) -> None:
    other = shop.new_browser()
    other.register()
    mine = make_line(shop.db, secret="4321")
    assert other.bind(mine, "4321").status_code == 200
    n = shop.line.id
    for path in (f"/lines/{n}", f"/lines/{n}/topup", f"/lines/{n}/voucher",
                 f"/lines/{n}/history", f"/lines/{n}/esim.svg", f"/lines/{n}/plans/1",
                 f"/lines/{n}/checkout?kind=topup&amount=10000&method=sandbox"):
        r = other.get(path)
        assert r.status_code == 404 and "Line not found" in r.text, path
    token = other.get(f"/lines/{mine.id}").text
    refused = other.submit(f"/lines/{mine.id}", f"/lines/{n}/auto-renew", {"auto_renew": "on"})
    assert refused.status_code == 404 and token
    with shop.db.unit() as uow:
        assert line_svc.get_line(uow, n).auto_renew is False
    assert f'data-line="{n}"' not in other.get("/").text


def test_line_pickers_go_straight_to_the_only_line(shop: Shop) -> None:
    b, n = shop.browser, shop.line.id
    assert b.get("/topup").url.path == f"/lines/{n}/topup"
    assert b.get("/voucher").url.path == f"/lines/{n}/voucher"
    assert b.get("/history").url.path == f"/lines/{n}/history"
    second = make_line(shop.db, secret="8080")
    b.bind(second, "8080")
    pick = b.get("/topup")
    assert pick.url.path == "/topup" and f'href="/lines/{second.id}/topup"' in pick.text
    fresh = shop.new_browser()
    fresh.register()
    assert fresh.get("/voucher").url.path == "/lines/bind"


def test_paying_a_plan_with_the_sandbox_lands_on_the_order_page(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    page = summary(b, line, kind="plan", plan_id=str(plan_id(shop.db, "TH-1D-1GB")),
                   method="sandbox")
    sent = confirm(b, line, page)
    assert sent.status_code == 303
    order = approve(b, sent)
    assert re.match(r"/orders/\d+$", order.url.path) and 'data-state="fulfilled"' in order.text
    assert f'data-remaining="{GIB}"' in b.get(f"/lines/{line.id}").text
