"""The bank transfer books: every statement entry we imported, and the entries finance reviews.

An entry is stored once per bank entry reference (a re-imported statement adds nothing). Its
``outcome`` says what became of it: ``credited`` (it paid an order exactly) or ``review`` (it
waits in ``bank_review_items`` for finance; nothing was credited).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

FORMATS = ("camt053", "csv")
OUTCOMES = ("credited", "review")
MATCHED_BY = ("reference", "amount", "finance")
REASONS = ("partial", "overpaid", "duplicate", "currency_mismatch", "unmatched",
           "order_not_awaiting")
REVIEW_STATES = ("open", "credited", "dismissed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


bank_statement_entries = Table(
    "bank_statement_entries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entry_ref", String(140), nullable=False, unique=True),
    Column("statement_id", String(140), nullable=True),
    Column("format", String(8), nullable=False),
    Column("booking_date", Date, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reference", String(35), nullable=True),  # a valid RF reference found in it
    Column("remittance", String(500), nullable=True),  # what the payer wrote, as sent
    Column("payer_name", String(140), nullable=True),
    Column("outcome", String(10), nullable=False),
    Column("matched_by", String(10), nullable=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("order_ref", String(35), nullable=True),  # the credited order's RF reference
    Column("imported_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(_in("format", FORMATS), name="format"),
    CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    CheckConstraint(f"matched_by IS NULL OR {_in('matched_by', MATCHED_BY)}",
                    name="matched_by"),
    CheckConstraint("outcome <> 'credited' OR (order_id IS NOT NULL AND order_ref IS NOT NULL "
                    "AND matched_by IS NOT NULL)", name="credited_names_order"),
    Index("ix_bank_statement_entries_order_ref", "order_ref", "outcome"),
)

bank_review_items = Table(
    "bank_review_items",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entry_id", Id, ForeignKey("bank_statement_entries.id"), nullable=False,
           unique=True),
    Column("reason", String(20), nullable=False),
    Column("detail", String(300), nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("state", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_by", Id, ForeignKey("users.id"), nullable=True),
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("note", String(500), nullable=True),
    CheckConstraint(_in("reason", REASONS), name="reason"),
    CheckConstraint(_in("state", REVIEW_STATES), name="state"),
    CheckConstraint("(state = 'open') = (resolved_at IS NULL)", name="resolved_when_closed"),
    CheckConstraint("state = 'open' OR (resolved_by IS NOT NULL AND note IS NOT NULL)",
                    name="resolution_recorded"),
    CheckConstraint("state <> 'credited' OR order_id IS NOT NULL", name="credit_names_order"),
    Index("ix_bank_review_items_state", "state", "id"),
)

TABLES = (bank_statement_entries, bank_review_items)
