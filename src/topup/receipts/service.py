"""Issuing and reading receipts: one per paid order, numbered ``R<year>-<000001>`` per year.

The number comes from ``receipt_counters`` in the issuing transaction (UPDATE … RETURNING), so
numbers have no gaps (a rollback gives the number back) and concurrent issuers on PostgreSQL
queue on the counter row. The year is the UTC year of issuance.

Only a card's brand and last four digits may reach a receipt: ``clean_method_detail`` drops any
run of more than four digits (separators included, as in ``4242 4242 4242 4242``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from topup.catalog import service as catalog
from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.money import Money
from topup.orders.errors import OrderNotFound
from topup.orders.tables import orders
from topup.receipts.errors import ReceiptNotFound, ReceiptNotIssuable
from topup.receipts.html import render_html
from topup.receipts.tables import DETAIL_MAX, receipt_counters, receipts

if TYPE_CHECKING:
    from topup.orders.model import Order
    from topup.subscribers.lines import Line

__all__ = ["Receipt", "clean_method_detail", "get_receipt", "issue_receipt", "render_html",
           "render_pdf"]

log = logging.getLogger("topup.receipts")

ISSUABLE_STATES = ("paid", "fulfilled")
TOPUP_ITEM = ("Top-up", "充值")
_NUMBER = re.compile(r"\d(?:[\s\-./]*\d)*")  # digits, allowing "4242 4242" and "4242-4242"
_WORD = re.compile(r"[A-Za-z][A-Za-z_\-]{0,31}")
_LAST4 = re.compile(r"\d{4}")
MAX_WORDS = 3


@dataclass(frozen=True)
class Receipt:
    """A receipt as issued; never changes afterwards."""

    id: int
    order_id: int
    number: str
    year: int
    seq: int
    issued_at: datetime
    amount: int
    fee: int
    currency: str
    method: str
    method_detail: str | None
    line_id: int
    operator_name: str
    item_en: str
    item_zh: str

    @classmethod
    def of(cls, row: Any) -> Receipt:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})

    @property
    def money(self) -> Money:
        """The order's amount (what was bought)."""
        return Money(self.amount, self.currency)

    @property
    def fee_money(self) -> Money:
        return Money(self.fee, self.currency)

    @property
    def total(self) -> Money:
        """What the payer paid: amount plus fee."""
        return Money(self.amount + self.fee, self.currency)

    @property
    def test_mode(self) -> bool:
        """True when no real money moved (the sandbox provider)."""
        return self.method == "sandbox"


def receipt_number(year: int, seq: int) -> str:
    """``R2026-000001`` for the first receipt of 2026."""
    return f"R{year}-{seq:06d}"


def _strip_long_numbers(text: str) -> tuple[str, bool]:
    dropped = False

    def keep_short(match: re.Match[str]) -> str:
        nonlocal dropped
        if sum(c.isdigit() for c in match.group()) <= 4:
            return match.group()
        dropped = True
        return " "

    return _NUMBER.sub(keep_short, text), dropped


def _clean(detail: str | None) -> tuple[str | None, bool]:
    if detail is None:
        return None, False
    text, dropped = _strip_long_numbers(unicodedata.normalize("NFKC", detail))
    words: list[str] = []
    last4: str | None = None
    for token in text.split():
        if _LAST4.fullmatch(token):
            last4 = token
        elif _WORD.fullmatch(token) and len(words) < MAX_WORDS:
            words.append(token)
    tail = [last4] if last4 else []
    while words and len(" ".join(words + tail)) > DETAIL_MAX:
        words.pop()
    return " ".join(words + tail) or None, dropped


def clean_method_detail(detail: str | None) -> str | None:
    """At most a few brand words and four digits (``"visa 4242"``); longer numbers vanish."""
    return _clean(detail)[0]


def _find(uow: UnitOfWork, order_id: int) -> Receipt | None:
    row = uow.conn.execute(select(receipts).where(receipts.c.order_id == order_id)).first()
    return None if row is None else Receipt.of(row)


def get_receipt(uow: UnitOfWork, order_id: int) -> Receipt:
    """The order's receipt; ``ReceiptNotFound`` when it has none."""
    found = _find(uow, order_id)
    if found is None:
        raise ReceiptNotFound(f"order {order_id} has no receipt", order_id=order_id)
    return found


def _next_seq(uow: UnitOfWork, year: int) -> int:
    uow.conn.execute(insert_ignore(uow, receipt_counters, {"year": year, "last": 0}, ["year"]))
    # The UPDATE locks the year's row until commit: the next issuer waits, then sees our value.
    return int(uow.conn.execute(
        update(receipt_counters).where(receipt_counters.c.year == year)
        .values(last=receipt_counters.c.last + 1).returning(receipt_counters.c.last),
    ).scalar_one())


def _items(uow: UnitOfWork, order: Order) -> tuple[str, str]:
    if order.kind != "plan" or order.plan_id is None:
        return TOPUP_ITEM
    plan = catalog.get_plan(uow, order.plan_id)
    return plan.name_en[:200], plan.name_zh[:200]


def _lock_order_state(uow: UnitOfWork, order_id: int) -> str:
    row = uow.conn.execute(select(orders.c.state).where(orders.c.id == order_id)
                           .with_for_update()).first()
    if row is None:
        raise OrderNotFound(f"no order {order_id}")
    return str(row.state)


def issue_receipt(uow: UnitOfWork, order: Order, method_detail: str | None) -> Receipt:
    """The order's receipt, issued now if it has none (a second call returns the first).

    Only a paid or fulfilled order gets one (``ReceiptNotIssuable`` otherwise). The order row
    is locked first, so two issuers for one order never both take a number.
    """
    state = _lock_order_state(uow, order.id)
    existing = _find(uow, order.id)
    if existing is not None:
        return existing
    if state not in ISSUABLE_STATES:
        raise ReceiptNotIssuable(f"order {order.id} is {state}", order_state=state)
    detail, dropped = _clean(method_detail)
    if dropped:
        # Never log the value itself: it may be a card number.
        log.warning("order %s: method detail carried a number longer than four digits; "
                    "it was left off the receipt", order.id)
    year = uow.now.year
    seq = _next_seq(uow, year)
    item_en, item_zh = _items(uow, order)
    uow.conn.execute(insert(receipts).values(
        order_id=order.id, number=receipt_number(year, seq), year=year, seq=seq,
        issued_at=uow.now, amount=order.amount, fee=order.fee, currency=order.currency,
        method=order.method, method_detail=detail, line_id=order.line_id,
        operator_name=uow.settings.operator_name[:200], item_en=item_en, item_zh=item_zh))
    return get_receipt(uow, order.id)


def render_pdf(receipt: Receipt, order: Order, line: Line, lang: str, *,
               fonts: Sequence[Path] | None = None) -> bytes:
    """The receipt as a PDF; Chinese needs a CJK font (see ``topup.receipts.pdf``)."""
    # Imported here so that issuing a receipt at settlement never loads the PDF library.
    from topup.receipts import pdf

    return pdf.render_pdf(receipt, order, line, lang, fonts=fonts)
