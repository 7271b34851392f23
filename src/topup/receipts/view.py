"""What a receipt shows, as labelled rows in en or zh-CN; the HTML and PDF render these.

Amounts are formatted for the language with Babel (``Money.format``); times are shown in UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from topup.money import Money

if TYPE_CHECKING:
    from topup.orders.model import Order
    from topup.receipts.service import Receipt
    from topup.subscribers.lines import Line

LANGS = ("en", "zh-CN")

TEXT: dict[str, dict[str, str]] = {
    "en": {"title": "Receipt", "number": "Receipt no.", "issued": "Issued", "paid": "Paid",
           "order": "Order", "item": "Item", "line": "Line", "amount": "Amount", "fee": "Fee",
           "total": "Total paid", "credited": "Credited to wallet",
           "method": "Payment method", "status": "Status",
           "refunded": "Refunded", "test": "TEST MODE — no real money moved",
           "print": "Print", "pdf": "Download PDF", "list_price": "List price",
           "discount": "Discount", "points": "Points",
           "footer": "Keep this receipt for your records."},
    "zh-CN": {"title": "收据", "number": "收据编号", "issued": "开具时间", "paid": "支付时间",
              "order": "订单", "item": "项目", "line": "号码", "amount": "金额",
              "fee": "手续费", "total": "实付金额", "credited": "钱包入账",
              "method": "支付方式", "status": "状态",
              "refunded": "已退款", "test": "测试模式 — 未产生真实扣款", "print": "打印",
              "pdf": "下载 PDF", "footer": "请妥善保存本收据。", "list_price": "标价",
              "discount": "优惠", "points": "积分抵扣"},
}

METHODS: dict[str, tuple[str, str]] = {
    "sandbox": ("Sandbox (test)", "沙箱（测试）"), "stripe": ("Card", "银行卡"),
    "stripe_checkout": ("Card", "银行卡"),
    "paypal": ("PayPal", "PayPal"), "alipay": ("Alipay", "支付宝"),
    "wechatpay": ("WeChat Pay", "微信支付"), "bank": ("Bank transfer", "银行转账"),
    "wallet": ("Wallet balance", "账户余额"), "manual": ("Staff credit", "人工充值"),
}


def normalize_lang(tag: str | None) -> str:
    """``zh-CN`` for any Chinese tag (zh, zh-cn, zh_CN), else ``en``."""
    return "zh-CN" if (tag or "").strip().lower().startswith("zh") else "en"


@dataclass(frozen=True)
class ReceiptView:
    """A receipt laid out for one language: a heading, labelled rows, the total."""

    lang: str
    title: str
    operator: str
    number: str
    test_banner: str | None
    rows: tuple[tuple[str, str], ...]
    total: tuple[str, str]
    footer: str


def when(at: datetime | None) -> str:
    """``2026-11-22 08:00 UTC`` (receipts show one unambiguous clock)."""
    return "" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def method_text(receipt: Receipt, lang: str) -> str:
    """The method's name, then the brand and last four digits when known."""
    en, zh = METHODS.get(receipt.method, (receipt.method, receipt.method))
    name = zh if lang == "zh-CN" else en
    return f"{name} · {receipt.method_detail}" if receipt.method_detail else name


def line_text(line: Line) -> str:
    """The number (E.164) when the line has one, else the ICCID's last six digits."""
    if line.msisdn:
        return f"+{line.msisdn}" if line.msisdn.isdigit() else line.msisdn
    return f"ICCID …{line.iccid[-6:]}"


def _price_rows(receipt: Receipt, order: Order, lang: str,
                fmt: Callable[[Money, str], str]) -> list[tuple[str, str]]:
    """The lines of the price quote the order was confirmed with (list price, each discount,
    the fee); an order made before orders kept quotes shows its amount and fee."""
    t = TEXT[lang]
    quote = order.price_quote
    if quote is None:
        rows = [(t["amount"], fmt(receipt.money, lang))]
        return rows + ([(t["fee"], fmt(receipt.fee_money, lang))] if receipt.fee else [])
    label = {"list_price": t["list_price"], "fee": t["fee"]}
    spent = f'{t["points"]} · {quote.points_used}'

    def name(adj: Any) -> str:
        if adj.kind in label:
            return label[adj.kind]
        return spent if adj.ref == "points" else f'{t["discount"]} · {adj.name}'

    return [(name(adj), fmt(Money(adj.amount, quote.currency), lang)) for adj in quote.lines]


def build(receipt: Receipt, order: Order, line: Line, lang: str,
          fmt: Callable[[Money, str], str] = Money.format) -> ReceiptView:
    """The rows of ``receipt`` in ``lang`` (``en`` or ``zh-CN``); ``fmt`` shows money."""
    lang = normalize_lang(lang)
    t = TEXT[lang]
    rows = [(t["number"], receipt.number), (t["issued"], when(receipt.issued_at)),
            (t["paid"], when(order.paid_at)), (t["order"], f"#{receipt.order_id}"),
            (t["item"], receipt.item_zh if lang == "zh-CN" else receipt.item_en),
            (t["line"], line_text(line)), *_price_rows(receipt, order, lang, fmt)]
    if order.credit_currency and order.credit_amount is not None:
        # A top-up paid in one currency and credited in another shows both.
        rows.append((t["credited"], fmt(Money(order.credit_amount, order.credit_currency), lang)))
    rows.append((t["method"], method_text(receipt, lang)))
    if order.state == "refunded":
        rows.append((t["status"], t["refunded"]))
    return ReceiptView(
        lang=lang, title=t["title"], operator=receipt.operator_name, number=receipt.number,
        test_banner=t["test"] if receipt.test_mode else None, rows=tuple(rows),
        total=(t["total"], fmt(receipt.total, lang)), footer=t["footer"])
