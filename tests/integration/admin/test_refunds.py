"""Orders and refunds in the console: finance refunds a sandbox-paid top-up in part and in
full (a double submit pays back once), records a refund paid out by hand, returns an untouched
wallet plan to the wallet; a provider's refusal moves nothing; support only reads."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.factories import SandboxShop, sandbox_shop
from tests.integration.admin.conftest import StaffBrowser
from tests.integration.admin.test_vouchers import assert_links_answer
from tests.integration.portal.conftest import Browser, csrf_of, plan_id
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.orders import refunds
from topup.orders.service import get_order, settle_payment
from topup.payments.interfaces import PaymentStatus


def paid_topup(db: Database, amount: int = 100_00) -> tuple[SandboxShop, dict[str, Any]]:
    """A traveller's top-up paid through the sandbox."""
    with db.unit() as uow:
        seed_catalog(uow)
    shop = sandbox_shop(db)
    order = shop.api.post("/api/v1/orders", shop.me, key="o1", json={
        "line_id": shop.line_id, "kind": "topup", "amount": amount, "method": "sandbox"}).json()
    shop.pay(order)
    return shop, order


def wallet(db: Database, line_id: int) -> int:
    with db.unit(readonly=True) as uow:
        found = ledger.wallets(uow, line_id).get("CNY")
        return found.posted if found else 0


def refund_form(b: Browser, order_id: int) -> dict[str, str]:
    """The refund form's hidden fields, as the order page renders them."""
    page = b.get(f"/admin/orders/{order_id}")
    assert page.status_code == 200, page.text[:300]
    key = re.search(r'name="refund_key" value="([^"]+)"', page.text)
    assert key, "no refund form"
    return {"csrf_token": csrf_of(page.text), "refund_key": key.group(1)}


def refund(b: Browser, order_id: int, **fields: str) -> httpx.Response:
    data = {"how": "provider", "refund_amount": "", "refund_reason": "trip cancelled",
            **refund_form(b, order_id), **fields}
    return b.client.post(f"/admin/orders/{order_id}/refunds", data=data)


def test_finance_refunds_in_part_then_in_full_once_per_form(db: Database,
                                                            staff: StaffBrowser) -> None:
    shop, order = paid_topup(db)
    b = staff("finance", providers={"sandbox": shop.sandbox})
    page = b.get(f"/admin/orders/{order['id']}")
    assert 'id="refundable">Refundable now: CN¥100.00' in page.text
    assert 'id="order-state">Credited<' in page.text and 'id="receipt-link"' in page.text

    form = {"how": "provider", "refund_amount": "30.00", "refund_reason": "trip shortened",
            **refund_form(b, order["id"])}
    first = b.client.post(f"/admin/orders/{order['id']}/refunds", data=form,
                          follow_redirects=False)
    twice = b.client.post(f"/admin/orders/{order['id']}/refunds", data=form,
                          follow_redirects=False)
    assert first.status_code == twice.status_code == 303
    assert wallet(db, shop.line_id) == 70_00
    with db.unit(readonly=True) as uow:
        assert [r.amount for r in refunds.order_refunds(uow, order["id"])] == [30_00]

    too_much = refund(b, order["id"], refund_amount="80.00")
    assert too_much.status_code == 422 and "Refundable now: CN¥70.00." in too_much.text
    short = refund(b, order["id"], refund_reason="")
    assert short.status_code == 422 and "at least 3 characters" in short.text

    rest = refund(b, order["id"])
    assert "The refund is paid back." in rest.text and 'id="nothing-refundable"' in rest.text
    assert rest.text.count('data-state="succeeded"') == 2
    assert 'id="order-state">Refunded<' in rest.text and wallet(db, shop.line_id) == 0

    latest = b.get("/admin/refunds")
    assert latest.text.count(f'href="/admin/orders/{order["id"]}"') == 2
    found = b.client.get(f"/admin/refunds?order={order['id']}", follow_redirects=False)
    assert found.status_code == 303 and found.headers["location"] == f"/admin/orders/{order['id']}"
    assert b.get("/admin/refunds?order=abc").status_code == 422
    receipt = b.get(f"/admin/orders/{order['id']}/receipt")
    assert receipt.status_code == 200 and "100.00" in receipt.text
    assert_links_answer(b, f"/admin/orders/{order['id']}", "/admin/refunds")


def test_a_refund_paid_out_by_hand_is_recorded(db: Database, staff: StaffBrowser) -> None:
    shop, order = paid_topup(db, 50_00)
    b = staff("admin", providers={"sandbox": shop.sandbox})
    done = refund(b, order["id"], how="paid_out", refund_amount="20.00",
                  refund_reason="sent back by bank transfer")
    assert "The refund paid out by hand is recorded." in done.text
    assert "paid-out-by:" in done.text and wallet(db, shop.line_id) == 30_00


def test_an_untouched_wallet_plan_goes_back_to_the_wallet(db: Database, staff: StaffBrowser
                                                          ) -> None:
    shop, _ = paid_topup(db)
    plan = plan_id(db, "TH-7D-10GB")
    bought = shop.api.post("/api/v1/orders", shop.me, key="p1", json={
        "line_id": shop.line_id, "kind": "plan", "plan_id": plan, "method": "wallet"}).json()
    assert bought["state"] == "fulfilled", bought
    left = wallet(db, shop.line_id)
    b = staff("finance", providers={"sandbox": shop.sandbox})
    page = b.get(f"/admin/orders/{bought['id']}")
    assert "Return the plan to the wallet (in full)" in page.text
    assert "Pay back through the payment provider" not in page.text
    done = refund(b, bought["id"], how="wallet", refund_reason="bought by mistake")
    assert "The plan went back to the wallet." in done.text
    assert wallet(db, shop.line_id) == left + bought["amount"]
    with db.unit(readonly=True) as uow:
        assert get_order(uow, bought["id"]).state == "refunded"


def test_a_provider_refusal_moves_nothing_and_is_translated(db: Database,
                                                            staff: StaffBrowser) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
    shop = sandbox_shop(db, secret="1618")
    order = shop.api.post("/api/v1/orders", shop.me, key="o2", json={
        "line_id": shop.line_id, "kind": "topup", "amount": 50_00, "method": "sandbox"}).json()
    with db.unit() as uow:  # paid by a status the sandbox itself never recorded
        ref = order["next_action"]["value"].rsplit("/", 1)[1]
        settle_payment(uow, f"sandbox:{ref}", PaymentStatus(ref, "succeeded", 50_00, "CNY"))
    b = staff("finance", lang="zh-CN", providers={"sandbox": shop.sandbox})
    refused = refund(b, order["id"], refund_amount="10.00")
    assert refused.status_code == 422 and "支付服务商拒绝了退款" in refused.text
    assert wallet(db, shop.line_id) == 50_00
    too_much = refund(b, order["id"], refund_amount="60.00")
    assert "该订单不能按此金额退款。当前可退：¥50.00。" in too_much.text
    with db.unit(readonly=True) as uow:
        assert [r.state for r in refunds.order_refunds(uow, order["id"])] == ["failed"]


def test_support_sees_the_order_but_cannot_refund(db: Database, staff: StaffBrowser) -> None:
    shop, order = paid_topup(db)
    b = staff("support", providers={"sandbox": shop.sandbox})
    page = b.get(f"/admin/orders/{order['id']}")
    assert page.status_code == 200 and 'id="refund-form"' not in page.text
    r = b.client.post(f"/admin/orders/{order['id']}/refunds", data={
        "csrf_token": csrf_of(page.text), "how": "provider", "refund_key": "k",
        "refund_reason": "not mine to do"})
    assert r.status_code == 403 and wallet(db, shop.line_id) == 100_00
    assert b.get("/admin/refunds").status_code == 403
    assert b.get("/admin/orders/999999").status_code == 404
