"""Receipts and the per-year counter that numbers them without gaps.

The counter row for a year is incremented in the same transaction that inserts the receipt,
so a rolled-back issuance gives its number back and PostgreSQL's row lock on the counter
makes concurrent issuers queue for the next number.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

DETAIL_MAX = 40

receipt_counters = Table(
    "receipt_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", BigInteger, nullable=False),
    CheckConstraint("last >= 0", name="last_non_negative"),
)

receipts = Table(
    "receipts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, unique=True),
    Column("number", String(20), nullable=False, unique=True),
    Column("year", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    Column("method_detail", String(DETAIL_MAX), nullable=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("operator_name", String(200), nullable=False),
    Column("item_en", String(200), nullable=False),
    Column("item_zh", String(200), nullable=False),
    UniqueConstraint("year", "seq", name="uq_receipts_year_seq"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("fee >= 0", name="fee_non_negative"),
    CheckConstraint("seq > 0", name="seq_positive"),
    CheckConstraint("number LIKE 'R%-%'", name="number_format"),
    CheckConstraint(f"method_detail IS NULL OR length(method_detail) <= {DETAIL_MAX}",
                    name="method_detail_short"),
)
