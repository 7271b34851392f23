"""The history page marks what of an order was paid back, in English and Chinese."""

from __future__ import annotations

from tests.integration.forecast_world import buy
from tests.integration.portal.conftest import Shop
from topup.orders.refunds import return_plan_to_wallet
from topup.orders.service import line_orders


def test_a_refund_is_marked_on_its_order_in_both_languages(shop: Shop) -> None:
    buy(shop.db, shop.line, "TH-7D-10GB")
    with shop.db.unit() as uow:
        plan_order = next(o for o in line_orders(uow, shop.line.id, limit=5) if o.kind == "plan")
    return_plan_to_wallet(shop.db, plan_order.id, key="r1", reason="changed trip",
                          actor_id=None)
    b = shop.browser
    page = b.get(f"/lines/{shop.line.id}/history").text
    assert 'data-refunded="4900"' in page and "Refunded CN¥49.00" in page
    moves = b.get(f"/lines/{shop.line.id}/history?tab=movements").text
    assert "Plan refunded" in moves and "Top-up" in moves
    b.submit("/settings", "/settings/language", {"language": "zh-CN"})
    zh = b.get(f"/lines/{shop.line.id}/history").text
    assert "已退款 ¥49.00" in zh and "Refunded" not in zh
    zh_moves = b.get(f"/lines/{shop.line.id}/history?tab=movements").text
    assert "Plan refunded" not in zh_moves and "Top-up" not in zh_moves
