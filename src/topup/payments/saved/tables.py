"""The ``saved_payment_methods`` table: provider references plus brand and last 4, nothing more.

Not yet in ``topup.db.schema.AREAS`` nor in a migration: the lead registers it (see the docs).
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

saved_payment_methods = Table(
    "saved_payment_methods",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("customer_ref", String(255), nullable=False),
    Column("method_ref", String(255), nullable=False),
    Column("brand", String(20)),
    Column("last4", String(4)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    UniqueConstraint("provider", "method_ref"),
    Index("ix_saved_payment_methods_user", "user_id", "provider"),
    CheckConstraint("length(provider) > 0", name="provider_named"),
    CheckConstraint("length(customer_ref) > 0 AND length(method_ref) > 0", name="refs_given"),
    # Exactly four digits: ltrim(x, digits) is '' only when x is all digits (SQLite and PG).
    CheckConstraint("last4 IS NULL OR (length(last4) = 4 AND ltrim(last4, '0123456789') = '')",
                    name="last4_digits"),
    CheckConstraint("brand IS NULL OR (length(brand) BETWEEN 2 AND 20 AND "
                    "ltrim(brand, 'abcdefghijklmnopqrstuvwxyz_') = '')", name="brand_word"),
    CheckConstraint("revoked_at IS NULL OR revoked_at >= created_at", name="revoked_after"),
)
