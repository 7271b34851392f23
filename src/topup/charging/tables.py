"""Buckets bought with plans, their per-unit ledger accounts, and rated usage records."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

buckets = Table(
    "buckets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("plan_id", Id, nullable=False),
    Column("order_id", Id, nullable=False, unique=True),
    Column("zone_code", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("validity_start", String(10), nullable=False),
    Column("validity_days", Integer, nullable=False),
    Column("valid_from", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("state", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("validity_start IN ('purchase', 'first_use')", name="validity_start"),
    CheckConstraint("state IN ('active', 'expired', 'refunded')", name="state"),
    CheckConstraint("(valid_from IS NULL) = (expires_at IS NULL)", name="window"),
    CheckConstraint("validity_start = 'first_use' OR valid_from IS NOT NULL", name="started"),
    CheckConstraint("expires_at IS NULL OR expires_at > valid_from", name="window_order"),
    Index("ix_buckets_line", "line_id", "state"),
)

bucket_units = Table(
    "bucket_units",
    metadata,
    Column("bucket_id", Id, ForeignKey("buckets.id"), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("account_id", Id, ForeignKey("ledger_accounts.id"), nullable=False, unique=True),
    Column("total", BigInteger, nullable=False),
    PrimaryKeyConstraint("bucket_id", "unit"),
    CheckConstraint("total > 0", name="total_positive"),
    CheckConstraint("unit IN ('data', 'voice', 'sms')", name="unit"),
)

usage_records = Table(
    "usage_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("record_id", String(120), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("quantity", BigInteger, nullable=False),
    Column("country", String(2), nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("from_buckets", BigInteger, nullable=False),
    Column("from_money", BigInteger, nullable=False),
    Column("money_charged", BigInteger, nullable=False),
    Column("currency", String(3), nullable=True),
    Column("uncovered", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("from_buckets + from_money + uncovered = quantity", name="accounted"),
    CheckConstraint("money_charged >= 0 AND from_buckets >= 0 AND from_money >= 0 "
                    "AND uncovered >= 0", name="non_negative"),
    CheckConstraint("unit IN ('data', 'voice', 'sms')", name="unit"),
    Index("ix_usage_records_line", "line_id", "id"),
)
