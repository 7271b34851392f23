"""Buying in the portal: top-up amounts and limits, the order summary that submits once, a
frozen line's refusal, the order page with its payment step, and the owner's receipts."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.integration.portal.conftest import (
    Browser,
    Shop,
    approve,
    confirm,
    credit,
    open_shop,
    plan_id,
    summary,
)
from topup.db.uow import Database
from topup.orders.tables import orders
from topup.payments.interfaces import NextAction, PaymentRequest, PaymentStart
from topup.payments.providers.sandbox import SandboxProvider
from topup.subscribers import lines as line_svc


def order_count(db: Database) -> int:
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(orders)).scalar_one())


def test_topup_page_shows_presets_limits_and_methods(shop: Shop) -> None:
    page = shop.browser.get(f"/lines/{shop.line.id}/topup")
    assert page.status_code == 200
    for amount in (5000, 10000, 20000, 50000):
        assert f'id="f-amount-{amount}" name="amount" value="{amount}"' in page.text
    assert "You can top up between CN¥10.00 and CN¥5,000.00 at a time." in page.text
    assert '<label for="f-custom_amount">Other amount (CNY)</label>' in page.text
    assert 'id="f-method-sandbox" name="method" value="sandbox"' in page.text
    assert 'value="wallet"' not in page.text  # the wallet pays plans, not top-ups


def test_topup_amount_errors_in_both_languages(db: Database) -> None:
    shop = open_shop(db)
    b, path = shop.browser, f"/lines/{shop.line.id}/topup"
    none = b.submit(path, path, {"method": "sandbox"})
    assert none.status_code == 422 and "Choose an amount." in none.text
    bad = b.submit(path, path, {"amount": "custom", "custom_amount": "12.345",
                                "method": "sandbox"})
    assert bad.status_code == 422 and "Enter an amount such as 100.00." in bad.text
    big = b.submit(path, path, {"amount": "custom", "custom_amount": "9000",
                                "method": "sandbox"})
    assert big.status_code == 422
    assert "A top-up must be between CN¥10.00 and CN¥5,000.00." in big.text
    no_method = b.submit(path, path, {"amount": "10000"})
    assert "Choose a payment method." in no_method.text
    ok = b.submit(path, path, {"amount": "custom", "custom_amount": "88.50",
                               "method": "sandbox"})
    assert ok.url.path == f"/lines/{shop.line.id}/checkout"
    assert "Top-up of CN¥88.50" in ok.text
    assert "it cannot be changed after submitting" in ok.text
    zh = shop.new_browser("zh-CN")
    zh.login(shop.email)
    # the account's language (English, chosen at registration) wins over Accept-Language
    assert '<html lang="en">' in zh.get(path).text
    zh.submit("/settings", "/settings/language", {"language": "zh-CN"})
    big_zh = zh.submit(path, path, {"amount": "custom", "custom_amount": "9000",
                                    "method": "sandbox"})
    assert "单次充值金额须在 ¥10.00 至 ¥5,000.00 之间。" in big_zh.text


def test_a_summary_submits_one_order_however_often_it_is_sent(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    page = summary(b, line, kind="topup", amount="10000", method="sandbox")
    assert page.status_code == 200 and 'name="order_key"' in page.text
    first = confirm(b, line, page)
    second = confirm(b, line, page)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert order_count(shop.db) == 1
    again = summary(b, line, kind="topup", amount="10000", method="sandbox")
    dup = confirm(b, line, again)
    assert dup.status_code == 409
    assert "The same order was made for this line a few minutes ago" in dup.text
    assert 'name="confirm_duplicate"' in dup.text and order_count(shop.db) == 1
    forced = confirm(b, line, dup, confirm_duplicate="yes")
    assert forced.status_code == 303 and order_count(shop.db) == 2
    shown = approve(b, first)
    assert 'data-state="fulfilled"' in shown.text and "CN¥100.00 was credited" in shown.text
    assert 'href="/orders/' in shown.text and "/receipt" in shown.text


def test_a_frozen_line_is_refused_with_a_clear_message(db: Database) -> None:
    shop = open_shop(db)
    b, line, path = shop.browser, shop.line, f"/lines/{shop.line.id}/topup"
    page = summary(b, line, kind="topup", amount="10000", method="sandbox")
    with db.unit() as uow:
        line_svc.freeze(uow, line.id, actor=None, reason="fraud check")
    refused = confirm(b, line, page)
    assert refused.status_code == 409
    assert "This line is frozen" in refused.text and "contact customer support" in refused.text
    form = b.submit(path, path, {"amount": "10000", "method": "sandbox"})
    assert form.status_code == 422 and "This line is frozen" in form.text
    assert 'id="line-blocked"' in b.get(path).text
    assert 'data-status="frozen"' in b.get(f"/lines/{line.id}").text
    zh = shop.new_browser("zh-CN")
    zh.login(shop.email)
    zh.submit("/settings", "/settings/language", {"language": "zh-CN"})
    refused_zh = zh.submit(path, path, {"amount": "10000", "method": "sandbox"})
    assert "该号码已被冻结，无法充值或使用。请联系客服解除冻结。" in refused_zh.text
    assert order_count(db) == 0


def test_plans_from_the_wallet_and_a_low_balance(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    pid = plan_id(shop.db, "TH-7D-10GB")
    page = b.get(f"/lines/{line.id}/plans/{pid}")
    assert "Thailand 7 days 10 GB" in page.text and "CN¥49.00" in page.text
    assert 'id="f-method-wallet"' in page.text and 'id="f-method-sandbox"' in page.text
    chosen = b.submit(f"/lines/{line.id}/plans/{pid}", f"/lines/{line.id}/plans/{pid}",
                      {"method": "wallet"})
    assert chosen.url.path == f"/lines/{line.id}/checkout" and "Pay from the wallet" in chosen.text
    poor = confirm(b, line, chosen)
    assert poor.status_code == 402 and "The wallet balance is too low" in poor.text
    credit(shop.db, line, 60_00)
    paid = confirm(b, line, poor)
    assert paid.status_code == 303
    order = b.get(paid.headers["location"])
    assert 'data-state="fulfilled"' in order.text and "is on your line" in order.text
    bad = b.submit(f"/lines/{line.id}/plans/{pid}", f"/lines/{line.id}/plans/{pid}",
                   {"method": "bitcoin"})
    assert bad.status_code == 422 and "Choose a payment method." in bad.text


def test_order_page_status_and_receipts_belong_to_their_owner(shop: Shop) -> None:
    b, line = shop.browser, shop.line
    sent = confirm(b, line, summary(b, line, kind="topup", amount="20000", method="sandbox"))
    number = int(re.search(r"sbx_(\d+)_", sent.headers["location"]).group(1))  # type: ignore[union-attr]
    waiting = b.get(f"/orders/{number}")
    assert 'data-state="awaiting_payment"' in waiting.text
    assert f'data-poll="/orders/{number}/status"' in waiting.text
    assert 'id="pay-link"' in waiting.text and "/sandbox/pay/" in waiting.text
    assert b.get(f"/orders/{number}/status").json() == {
        "id": number, "state": "awaiting_payment", "settled": False}
    approve(b, sent)
    assert b.get(f"/orders/{number}/status").json()["state"] == "fulfilled"
    receipt = b.get(f"/orders/{number}/receipt")
    assert receipt.status_code == 200 and "Receipt" in receipt.text and "200.00" in receipt.text
    pdf = b.get(f"/orders/{number}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other = shop.new_browser()
    other.register()
    for path in (f"/orders/{number}", f"/orders/{number}/status",
                 f"/orders/{number}/receipt", f"/orders/{number}/receipt.pdf"):
        assert other.get(path).status_code == 404, path
    assert Browser(shop.db).get(f"/orders/{number}").url.path == "/login"


class QrProvider(SandboxProvider):
    """The sandbox dressed as a wallet app whose payer scans a QR code (as with WeChat Pay)."""

    name = "wechatpay"

    def start(self, request: PaymentRequest) -> PaymentStart:
        ref = super().start(request).provider_ref
        return PaymentStart(ref, NextAction("qr", f"weixin://wxpay/bizpayurl?pr={ref}"))


def test_a_qr_payment_step_is_drawn_on_the_order_page(shop: Shop) -> None:
    qr = QrProvider(shop.db, shop.db.settings.secret_key, "http://testserver")
    b = Browser(shop.db, {"sandbox": shop.sandbox, "wechatpay": qr})
    b.login(shop.email)
    page = summary(b, shop.line, kind="topup", amount="10000", method="wechatpay")
    assert "WeChat Pay" in page.text
    sent = confirm(b, shop.line, page)
    assert sent.status_code == 303 and re.fullmatch(r"/orders/\d+", sent.headers["location"])
    order = b.get(sent.headers["location"])
    assert 'id="pay-qr"' in order.text and "<svg" in order.text and "<path" in order.text
    assert "<title>Payment QR code</title>" in order.text
    assert 'data-state="awaiting_payment"' in order.text


class CnyQrProvider(QrProvider):
    """A QR wallet that, like WeChat Pay, collects CNY only."""

    currencies = frozenset({"CNY"})


def test_a_cny_only_method_is_not_offered_for_a_line_in_another_currency(db: Database) -> None:
    shop = open_shop(db, country="JP", currency="JPY")
    qr = CnyQrProvider(db, db.settings.secret_key, "http://testserver")
    b = Browser(db, {"sandbox": shop.sandbox, "wechatpay": qr})
    b.login(shop.email)
    page = b.get(f"/lines/{shop.line.id}/topup")
    assert 'value="sandbox"' in page.text and 'value="wechatpay"' not in page.text
    refused = summary(b, shop.line, kind="topup", amount="3000", method="wechatpay")
    assert refused.status_code == 422 and "not available" in refused.text
    chosen = b.submit(f"/lines/{shop.line.id}/topup", f"/lines/{shop.line.id}/topup",
                      {"amount": "3000", "method": "wechatpay"})
    assert chosen.status_code == 422 and order_count(db) == 0


def test_a_promo_code_on_the_summary_in_both_languages(db: Database) -> None:
    """The code typed on the summary re-prices it (its discount a line of the summary, the
    order and the receipt); a wrong code is refused beside the field, in the page's
    language, and the summary stays at the full price."""
    from datetime import timedelta

    from topup.promotions import store
    from topup.promotions.rules import Scope

    shop = open_shop(db, lang="zh-CN")
    b, line = shop.browser, shop.line
    with db.unit() as uow:
        cid = store.create_campaign(uow, store.CampaignSpec(
            "code", "新客立减", uow.now - timedelta(hours=1), uow.now + timedelta(days=3),
            currency="CNY", amount_off=8_00, scope=Scope(topups=True)))
        store.add_code(uow, cid, "HELLO8")
    wrong = summary(b, line, kind="topup", amount="10000", method="sandbox", code="HELO8")
    assert wrong.status_code == 422 and "该优惠码不存在，请检查拼写。" in wrong.text
    assert re.search(r'id="summary-total"><strong>[^<]*100\.00<', wrong.text)
    page = summary(b, line, kind="topup", amount="10000", method="sandbox", code="hello-8")
    assert page.status_code == 200, page.text[:500]
    assert "优惠：新客立减" in page.text
    assert re.search(r'id="summary-total"><strong>[^<]*92\.00<', page.text)
    assert 'name="code" value="HELLO8"' in page.text
    paid = approve(b, confirm(b, line, page))
    assert 'data-state="fulfilled"' in paid.text and "新客立减" in paid.text
    with db.unit(readonly=True) as uow:
        made = uow.conn.execute(select(orders.c.amount, orders.c.quote)).one()
    assert made.amount == 92_00 and made.quote["code"] == "HELLO8"
