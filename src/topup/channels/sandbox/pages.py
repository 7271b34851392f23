"""/sandbox/pay/<ref>: the test-mode payer's page — approve, decline, 3-D Secure, or delay.

Decisions reach topup as signed notifications through the same webhook path as real
providers; "delay" sends none, so only the status query (reconciliation) finds the payment.
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse

from topup.channels.api.deps import database
from topup.channels.api.messages import language_of
from topup.db.uow import Database
from topup.errors import NotFound
from topup.orders.model import Order
from topup.orders.service import order_by_payment_ref, return_token
from topup.payments import webhooks
from topup.payments.providers.sandbox.provider import SandboxProvider

router = APIRouter(prefix="/sandbox", include_in_schema=False)
CHALLENGE_CODE = "1234"

TEXT = {
    "en": {"title": "Sandbox payment", "banner": "TEST MODE — no real money moves",
           "amount": "Amount", "approve": "Pay", "decline": "Decline",
           "3ds": "Pay with 3-D Secure", "delay": "Pay, notify late",
           "challenge": "Enter the code from your bank (it is 1234)", "submit": "Confirm",
           "succeeded": "Payment approved", "failed": "Payment declined",
           "pending": "Payment approved; the shop will learn it later",
           "back": "Back to the order"},
    "zh-CN": {"title": "沙箱支付", "banner": "测试模式 — 不会产生真实扣款", "amount": "金额",
              "approve": "支付", "decline": "拒绝", "3ds": "使用 3-D 安全验证支付",
              "delay": "支付（延迟通知）", "challenge": "请输入银行验证码（为 1234）",
              "submit": "确认", "succeeded": "支付成功", "failed": "支付已拒绝",
              "pending": "支付成功；商户稍后会收到通知", "back": "返回订单"},
}


def _page(lang: str, body: str) -> HTMLResponse:
    t = TEXT[lang]
    return HTMLResponse(
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{t['title']}</title></head><body style=\"font-family:sans-serif;max-width:30em;"
        f'margin:auto;padding:1em"><p style="background:#ffd54f;color:#000;padding:.5em">'
        f"<strong>{t['banner']}</strong></p>{body}</body></html>")


def _context(request: Request, db: Database, ref: str) -> tuple[SandboxProvider, Order, str]:
    provider = request.app.state.payment_providers.get("sandbox")
    if not isinstance(provider, SandboxProvider):
        raise NotFound("the sandbox is not enabled")
    with db.unit(readonly=True) as uow:
        order = order_by_payment_ref(uow, f"sandbox:{ref}")
    return provider, order, language_of(request)


def _button(ref: str, action: str, label: str) -> str:
    return (f'<form method="post" action="/sandbox/pay/{escape(ref)}/{action}">'
            f'<button type="submit" style="width:100%;padding:.8em;margin:.3em 0">{label}'
            "</button></form>")


@router.get("/pay/{ref}", response_class=HTMLResponse)
def pay_page(ref: str, request: Request, db: Database = Depends(database)) -> HTMLResponse:
    """The payer's choices for one payment."""
    _, order, lang = _context(request, db, ref)
    t = TEXT[lang]
    buttons = "".join(_button(ref, a, t[a]) for a in ("approve", "3ds", "delay", "decline"))
    return _page(lang, f"<h1>{t['title']}</h1><p>{t['amount']}: "
                       f"<strong>{escape(str(order.total))}</strong></p>{buttons}")


@router.post("/pay/{ref}/{action}", response_class=HTMLResponse)
def decide(ref: str, action: str, request: Request, code: str = Form(""),
           db: Database = Depends(database)) -> HTMLResponse:
    """Carry out the payer's choice and notify topup as a provider would."""
    provider, order, lang = _context(request, db, ref)
    t = TEXT[lang]
    if action == "3ds":
        form = (f'<form method="post" action="/sandbox/pay/{escape(ref)}/challenge">'
                f'<label>{t["challenge"]} <input name="code" inputmode="numeric"></label>'
                f'<button type="submit">{t["submit"]}</button></form>')
        return _page(lang, form)
    if action == "challenge":
        action = "approve" if code.strip() == CHALLENGE_CODE else "decline"
    if action not in ("approve", "decline", "delay"):
        raise NotFound(f"no sandbox action {action!r}")
    state = "failed" if action == "decline" else "succeeded"
    body = provider.decide(ref, state, order.total.amount, order.currency)
    if action != "delay":
        webhooks.receive(db, provider, provider.sign(body), body)
    result = t["pending"] if action == "delay" else t[state]
    back = f"/pay/return/{order.id}?t={return_token(db.settings.secret_key, order.id)}"
    return _page(lang, f"<h1>{result}</h1><p><a href=\"{back}\">{t['back']}</a></p>")
