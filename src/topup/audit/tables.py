"""Append-only audit log."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, String, Table

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

# On PostgreSQL partitioned by month on ``at`` (primary key ``(id, at)``; docs/partitioning.md).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", Id, ForeignKey("users.id"), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target", String(120), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("data", JSON, nullable=False),
)
