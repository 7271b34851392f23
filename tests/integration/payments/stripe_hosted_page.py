"""The local Stripe's hosted payment page (what ``checkout.stripe.com/c/pay/<id>`` shows): the
amount, a card form, Stripe's consent line when the card is to be kept, a link back, and
Stripe's card errors — in English, or in Chinese for ``locale=zh``. No script, nothing
loaded from elsewhere."""

from __future__ import annotations

from html import escape
from typing import Any

ZERO_DECIMAL = frozenset({"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg",
                          "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"})
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

WORDS = {
    "en": {"title": "Pay", "test": "TEST MODE", "number": "Card number",
           "expiry": "Expiration (MM / YY)", "cvc": "CVC", "name": "Cardholder name",
           "pay": "Pay", "back": "Back", "keep": "By providing your card information, you "
           "allow the merchant to charge your card for future payments in accordance with "
           "their terms.", "gone": "This Checkout Session is no longer active.",
           "paid": "Payment successful", "declined": "Your card was declined."},
    "zh": {"title": "支付", "test": "测试模式", "number": "卡号", "expiry": "有效期（月 / 年）",
           "cvc": "安全码", "name": "持卡人姓名", "pay": "支付", "back": "返回",
           "keep": "提供银行卡信息即表示您允许商家按照其条款在日后的付款中从您的银行卡扣款。",
           "gone": "此结账会话已失效。", "paid": "支付成功", "declined": "您的银行卡被拒绝。"},
}


def language(session: dict[str, Any], accept: str) -> str:
    """``zh`` or ``en``: the Session's locale, or the browser's for ``auto``."""
    chosen = session.get("locale") or "auto"
    if chosen == "auto":
        chosen = accept.split(",")[0].strip()
    return "zh" if chosen.lower().startswith("zh") else "en"


def amount_text(amount: int, currency: str) -> str:
    """Stripe's smallest units shown as a decimal amount (``10000 cny`` → ``100.00 CNY``)."""
    digits = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    whole, part = divmod(amount, 10**digits)
    return f"{whole}.{part:0{digits}d} {currency.upper()}" if digits else \
        f"{whole} {currency.upper()}"


def _page(lang: str, title: str, body: str) -> str:
    return (f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
            '<meta charset="utf-8"><meta name="viewport" content="width=device-width">'
            f"<title>{escape(title)}</title></head><body style=\"font-family:sans-serif;"
            f'max-width:28em;margin:auto;padding:1em">{body}</body></html>')


def pay_page(session: dict[str, Any], lang: str, keeps: bool, error: str | None = None,
             product: str = "") -> str:
    """The card form of an open Session; ``error`` is Stripe's message for the last try."""
    w = WORDS[lang]
    total = amount_text(int(session["amount_total"]), str(session["currency"]))
    alert = f'<p role="alert" id="card-error">{escape(error)}</p>' if error else ""
    keep = f'<p id="keep-consent">{escape(w["keep"])}</p>' if keeps else ""
    back = session.get("cancel_url")
    link = f'<p><a href="{escape(back)}" id="back">{w["back"]}</a></p>' if back else ""

    def field(name: str, label: str, mode: str, auto: str) -> str:
        return (f'<p><label for="{name}">{label}</label><br><input id="{name}" name="{name}" '
                f'inputmode="{mode}" autocomplete="{auto}" required></p>')

    form = ('<form method="post" id="payment-form">'
            + field("number", w["number"], "numeric", "cc-number")
            + field("expiry", w["expiry"], "numeric", "cc-exp")
            + field("cvc", w["cvc"], "numeric", "cc-csc")
            + field("name", w["name"], "text", "cc-name")
            + f'{keep}<button type="submit" id="pay">{w["pay"]} {escape(total)}</button></form>')
    body = (f'<p id="test-mode"><strong>{w["test"]}</strong></p><h1>{escape(product)}</h1>'
            f'<p id="total">{escape(total)}</p>{alert}{form}{link}')
    return _page(lang, w["title"], body)


def message_page(lang: str, key: str) -> str:
    """A page with one heading: the Session is gone, or paid without a success URL."""
    return _page(lang, WORDS[lang][key], f"<h1>{escape(WORDS[lang][key])}</h1>")


def card_message(lang: str, code: str | None, message: str) -> str:
    """Stripe's card error as the page shows it (the decline in the page's language)."""
    return WORDS[lang]["declined"] if code == "card_declined" else message
