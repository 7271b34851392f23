"""The printable receipt page: one self-contained HTML document, mobile-first, print-ready."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from topup.receipts.view import TEXT, ReceiptView, build

if TYPE_CHECKING:
    from topup.orders.model import Order
    from topup.receipts.service import Receipt
    from topup.subscribers.lines import Line

STYLE = """
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;
 margin:0;padding:1em;color:#111;background:#fff}
main{max-width:32em;margin:auto}
h1{font-size:1.4em;margin:.2em 0}
.operator{color:#555;margin:0 0 1em}
.test{background:#ffd54f;color:#000;padding:.5em;font-weight:bold}
table{width:100%;border-collapse:collapse}
th,td{padding:.45em 0;border-bottom:1px solid #ddd;vertical-align:top}
th{text-align:left;font-weight:normal;color:#555;padding-right:1em}
td{text-align:right;word-break:break-word}
tr.total th,tr.total td{font-weight:bold;color:#111;border-bottom:2px solid #111}
.actions{margin-top:1.2em;display:flex;gap:.6em}
.actions a,.actions button{flex:1;padding:.8em;font-size:1em;text-align:center;
 border:1px solid #111;background:#fff;color:#111;text-decoration:none;border-radius:.3em}
footer{color:#555;font-size:.9em;margin-top:1em}
@media print{.actions{display:none}body{padding:0}}
"""


def _rows(view: ReceiptView) -> str:
    cells = [f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in view.rows]
    label, amount = view.total
    cells.append(f'<tr class="total"><th>{escape(label)}</th><td>{escape(amount)}</td></tr>')
    return "".join(cells)


def page(view: ReceiptView, pdf_href: str | None = None) -> str:
    """The HTML document for ``view``; ``pdf_href`` adds a download button."""
    t = TEXT[view.lang]
    banner = f'<p class="test">{escape(view.test_banner)}</p>' if view.test_banner else ""
    pdf = (f'<a href="{escape(pdf_href)}" download>{escape(t["pdf"])}</a>'
           if pdf_href else "")
    return (
        f'<!doctype html><html lang="{view.lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(view.title)} {escape(view.number)}</title><style>{STYLE}</style>"
        f"</head><body><main>{banner}<h1>{escape(view.title)} {escape(view.number)}</h1>"
        f'<p class="operator">{escape(view.operator)}</p><table>{_rows(view)}</table>'
        f'<div class="actions"><button type="button" onclick="window.print()">'
        f'{escape(t["print"])}</button>{pdf}</div>'
        f"<footer>{escape(view.footer)}</footer></main></body></html>")


def render_html(receipt: Receipt, order: Order, line: Line, lang: str,
                pdf_href: str | None = None) -> str:
    """The printable receipt in ``lang`` (``en`` or ``zh-CN``)."""
    return page(build(receipt, order, line, lang), pdf_href)
