"""The sandbox's own books: what the test-mode payer decided for each payment."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, String, Table

from topup.db.metadata import UTCDateTime, metadata

sandbox_payments = Table(
    "sandbox_payments",
    metadata,
    Column("ref", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("refunded", BigInteger, nullable=False, default=0),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("state IN ('succeeded', 'failed')", name="state"),
    CheckConstraint("refunded >= 0 AND refunded <= amount", name="refund_bound"),
)

sandbox_refunds = Table(
    "sandbox_refunds",
    metadata,
    Column("refund_ref", String(255), primary_key=True),
    Column("ref", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
)
