"""The dashboard's figures come from what happened: top-ups and plan sales by channel and
method, lines by status, data sold and used."""

from __future__ import annotations

import re

from tests.integration.admin.conftest import StaffBrowser
from tests.integration.portal.conftest import Shop, credit, plan_id, use
from topup.catalog import service as catalog
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers.lines import get_line

GIB = 1024**3


def figure(html: str, block: str, label: str) -> str:
    """The big number above ``label`` in the figures list ``block``."""
    part = html.split(f'id="{block}"', 1)[1].split("</ul>", 1)[0]
    found = re.search(r'<span class="big">([^<]+)</span>' + re.escape(label), part)
    assert found, (label, part)
    return found.group(1)


def test_the_dashboard_counts_what_was_sold_and_used(shop: Shop, staff: StaffBrowser) -> None:
    db, line = shop.db, shop.line
    credit(db, line, 120_00)  # the cash desk: channel admin, method manual
    with db.unit() as uow:
        plan = catalog.get_plan(uow, plan_id(db, "TH-7D-10GB"))
        create_order(uow, None, get_line(uow, line.id), OrderRequest(
            kind="plan", method="wallet", channel="api", plan_id=plan.id,
            confirm_duplicate=True))
    use(db, line, 3 * GIB, "dash-1")
    page = staff("finance").get("/admin")
    assert page.status_code == 200
    html = page.text
    assert figure(html, "sales-figures", "Top-ups") == "CN¥120.00"
    assert figure(html, "sales-figures", "Plans sold") == f"CN¥{plan.prices['CNY'] / 100:.2f}"
    assert figure(html, "sales-figures", "Orders") == "2"
    assert figure(html, "data-figures", "Data sold") == "10 GB"
    assert figure(html, "data-figures", "Data used") == "3 GB"
    assert figure(html, "line-figures", "Active") == "1"
    titles = re.findall(r"<title>([^<]+)</title>", html)
    assert any("Console: CN¥120.00" in t for t in titles), titles
    assert any("Wallet: " in t for t in titles), titles
    assert any("Data used: 3 GB" in t for t in titles), titles


def test_the_dashboard_in_chinese_and_without_sales(shop: Shop, staff: StaffBrowser) -> None:
    page = staff("support", lang="zh-CN").get("/admin")
    assert page.status_code == 200
    assert "这 30 天没有销售。" in page.text
    assert "仪表盘" in page.text
