"""Printable sheets of cards (fpdf2): ten 90 x 54 mm cards per A4 page, with cut lines.

Each card shows the face value (or the plan), the PIN in groups of four, the serial, the
expiry, and how to redeem in Chinese and English. A large batch is split into several files
of ``per_file`` cards each, so no file grows without bound. The CJK font is found as for
receipts; without one the sheet is English-only in a built-in font, and a warning says so.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from fpdf import FPDF

from topup.receipts.pdf import CJK_FAMILY, CJK_FONTS, LATIN_FAMILY, find_cjk_font, latin
from topup.vouchers.generate import Card
from topup.vouchers.pins import grouped

log = logging.getLogger("topup.vouchers")

CARD_W, CARD_H = 90.0, 54.0
COLS, ROWS = 2, 5
LEFT, TOP = (210 - COLS * CARD_W) / 2, (297 - ROWS * CARD_H) / 2
PER_PAGE = COLS * ROWS
HOW_EN = ("Top up: enter the PIN in the app or on the website, send it by SMS, dial the USSD "
          "code or call the hotline. Scratch gently; keep the card until the top-up shows.")
HOW_ZH = "充值方法：在应用或网站输入充值密码，或通过短信、USSD、客服热线充值。请保留本卡至到账。"


class PdfSink:
    """Writes cards into ``<stem>-NNN.pdf`` files under ``folder``, ``per_file`` cards each."""

    def __init__(self, folder: Path, stem: str, operator: str, *, per_file: int = 5000,
                 fonts: Sequence[Path] | None = None) -> None:
        self.folder, self.stem, self.operator = folder, stem, operator
        self.per_file = max(PER_PAGE, per_file - per_file % PER_PAGE)
        self.font = find_cjk_font(CJK_FONTS if fonts is None else fonts)
        if self.font is None:
            log.warning("no CJK font found (on Debian install fonts-wqy-microhei): voucher "
                        "sheets are English-only")
        self.files: list[Path] = []
        self._pdf: FPDF | None = None
        self._on_file = 0

    def _text(self, value: str) -> str:
        return value if self.font is not None else latin(value)

    def _family(self) -> str:
        return CJK_FAMILY if self.font is not None else LATIN_FAMILY

    def _new_pdf(self) -> FPDF:
        pdf = FPDF(format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.set_title(f"{self.stem} cards")
        pdf.set_author(self.operator)
        if self.font is not None:
            pdf.add_font(CJK_FAMILY, "", str(self.font), collection_font_number=0)
        return pdf

    def write(self, cards: Sequence[Card]) -> None:
        for card in cards:
            if self._pdf is None:
                self._pdf, self._on_file = self._new_pdf(), 0
            if self._on_file % PER_PAGE == 0:
                self._pdf.add_page()
            slot = self._on_file % PER_PAGE
            self._card(self._pdf, card, LEFT + (slot % COLS) * CARD_W,
                       TOP + (slot // COLS) * CARD_H)
            self._on_file += 1
            if self._on_file == self.per_file:
                self._save()

    def _card(self, pdf: FPDF, card: Card, x: float, y: float) -> None:
        t, fam = self._text, self._family()
        pdf.set_draw_color(170, 170, 170)
        pdf.rect(x, y, CARD_W, CARD_H)
        pdf.set_text_color(90, 90, 90)
        pdf.set_font(fam, size=8)
        pdf.set_xy(x + 4, y + 3)
        pdf.cell(CARD_W - 8, 5, t(self.operator))
        pdf.set_text_color(0, 0, 0)
        pdf.set_font(fam, size=13)
        pdf.set_xy(x + 4, y + 8)
        value = card.face.text() + " " + card.face.currency
        if card.plan_name_en:
            value = f"{card.plan_name_zh} / {card.plan_name_en}"
        pdf.cell(CARD_W - 8, 7, t(value))
        pdf.set_font(fam, size=7)
        pdf.set_xy(x + 4, y + 16)
        pdf.cell(CARD_W - 8, 4, t("PIN 充值密码"))
        pdf.set_font(fam, size=15)
        pdf.set_xy(x + 4, y + 20)
        pdf.cell(CARD_W - 8, 7, grouped(card.pin))
        pdf.set_font(fam, size=7)
        pdf.set_xy(x + 4, y + 28)
        pdf.cell(CARD_W - 8, 4, t(f"Serial 序列号 {card.serial}    Valid until 有效期至 "
                                  f"{card.expires_at.date().isoformat()}"))
        pdf.set_font(fam, size=6)
        pdf.set_xy(x + 4, y + 33)
        how = HOW_ZH + "\n" + HOW_EN if self.font is not None else HOW_EN
        pdf.multi_cell(CARD_W - 8, 3, how)

    def _save(self) -> None:
        if self._pdf is None or self._on_file == 0:
            return
        path = self.folder / f"{self.stem}-{len(self.files) + 1:03d}.pdf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # PINs: owner only
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(self._pdf.output()))
        self.files.append(path)
        self._pdf, self._on_file = None, 0

    def close(self) -> list[Path]:
        self._save()
        return list(self.files)
