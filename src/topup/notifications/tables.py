"""The outbox: one row per message to send, written in the transaction that caused it."""

from __future__ import annotations

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer, String, Table

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

outbox = Table(
    "notification_outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(8), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("template", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("params", JSON, nullable=False),
    Column("state", String(12), nullable=False, default="queued"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime, nullable=True),
    CheckConstraint("channel IN ('sms', 'email')", name="channel"),
    CheckConstraint("state IN ('queued', 'sending', 'sent', 'dead')", name="state"),
    Index("ix_notification_outbox_state", "state", "id"),
)
