"""The receipt as a PDF (fpdf2), with an embedded CJK font for Chinese.

fpdf2 embeds only the glyphs used, so even a 5 MB TrueType collection adds a few kB. Without a
CJK font (Debian: ``apt-get install fonts-wqy-microhei``) the PDF falls back to English
labels in a built-in Latin-1 font, and a warning says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from topup.money import Money
from topup.receipts.view import ReceiptView, build

if TYPE_CHECKING:
    from topup.orders.model import Order
    from topup.receipts.service import Receipt
    from topup.subscribers.lines import Line

log = logging.getLogger("topup.receipts")

# The first of these that exists is embedded (Debian packages in the comments).
CJK_FONTS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),  # fonts-wqy-microhei
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # fonts-droid-fallback
)
CJK_FAMILY = "cjk"
LATIN_FAMILY = "helvetica"
_LATIN_SUBSTITUTES = str.maketrans({"—": "-", "–": "-", "…": "...", "‘": "'", "’": "'"})


def find_cjk_font(candidates: Sequence[Path] = CJK_FONTS) -> Path | None:
    """The first readable font file among ``candidates``."""
    return next((p for p in candidates if p.is_file()), None)


def latin(text: str) -> str:
    """``text`` as the built-in Latin-1 font can show it (other characters are left out)."""
    kept = text.translate(_LATIN_SUBSTITUTES).encode("latin-1", "ignore").decode("latin-1")
    return " ".join(kept.split())


def latin_money(money: Money, lang: str) -> str:
    """Babel's display when Latin-1 can show it, else plain ``100.00 THB``."""
    shown = money.format(lang)
    try:
        shown.encode("latin-1")
    except UnicodeEncodeError:
        return str(money)
    return shown


def _start(view: ReceiptView, receipt: Receipt, font: Path | None) -> tuple[FPDF, str]:
    pdf = FPDF(format=(148, 210))  # A5 in mm, receipt-sized
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_title(f"{view.title} {view.number}")
    pdf.set_author(view.operator)
    pdf.set_lang(view.lang)
    pdf.set_creation_date(receipt.issued_at)
    pdf.add_page()
    if font is None:
        return pdf, LATIN_FAMILY
    pdf.add_font(CJK_FAMILY, "", str(font), collection_font_number=0)
    return pdf, CJK_FAMILY


def _write(pdf: FPDF, family: str, view: ReceiptView) -> None:
    text = latin if family == LATIN_FAMILY else str
    if view.test_banner:
        pdf.set_font(family, size=10)
        pdf.set_fill_color(255, 213, 79)
        pdf.multi_cell(0, 8, text(view.test_banner), fill=True, padding=(0, 2),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2)
    pdf.set_font(family, size=18)
    pdf.multi_cell(0, 10, text(f"{view.title} {view.number}"),
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, size=11)
    pdf.set_text_color(85, 85, 85)
    pdf.multi_cell(0, 7, text(view.operator), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    for label, value in view.rows:
        _row(pdf, text(label), text(value))
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(family, size=13)
    _row(pdf, *(text(x) for x in view.total))
    pdf.ln(4)
    pdf.set_font(family, size=9)
    pdf.set_text_color(85, 85, 85)
    pdf.multi_cell(0, 6, text(view.footer), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _row(pdf: FPDF, label: str, value: str) -> None:
    pdf.cell(40, 8, label, border="B")
    pdf.multi_cell(0, 8, value, border="B", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(receipt: Receipt, order: Order, line: Line, lang: str, *,
               fonts: Sequence[Path] | None = None) -> bytes:
    """The receipt as PDF bytes in ``lang``; English-only when no CJK font is found.

    ``fonts`` replaces the font files looked for (tests pass ``()`` to force the fallback).
    """
    font = find_cjk_font(CJK_FONTS if fonts is None else fonts)
    if font is None:
        log.warning("no CJK font found (looked for %s; on Debian install fonts-wqy-microhei): "
                    "receipt %s is rendered as an English-only PDF",
                    ", ".join(str(p) for p in (CJK_FONTS if fonts is None else fonts)) or "none",
                    receipt.number)
        view = build(receipt, order, line, "en", fmt=latin_money)
    else:
        view = build(receipt, order, line, lang)
    pdf, family = _start(view, receipt, font)
    _write(pdf, family, view)
    return bytes(pdf.output())
