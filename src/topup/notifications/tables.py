"""The outbox (one row per message, written in the transaction that caused it), the parts a
provider accepted, and each customer's delivery preferences.

Outbox states: ``queued`` (due at ``next_attempt_at``) → ``sending`` (leased to one worker
until ``claimed_until``) → ``sent``; a failed attempt goes back to ``queued`` later, and after
too many attempts (or a permanent refusal) to ``dead``, where an operator may retry it.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

STATES = ("queued", "sending", "sent", "dead")
# SMPP 3.4 message states as delivery receipts spell them (``stat:``), plus our own
# ``SUBMITTED`` for a part the SMSC accepted and has not reported on yet.
DELIVERY_STATES = ("SUBMITTED", "ENROUTE", "DELIVRD", "EXPIRED", "DELETED", "UNDELIV",
                   "ACCEPTD", "UNKNOWN", "REJECTD")

# On PostgreSQL partitioned by month on ``created_at`` (primary key ``(id, created_at)``); a
# trigger stands for the foreign key of ``notification_submissions`` (docs/partitioning.md).
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
    # Not sent before this time: back-off after a failure, the end of quiet hours.
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # The lease of the worker delivering it; an expired lease makes the row claimable again.
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    # E-mail: our Message-ID; SMS: the SMSC's id of the first part.
    Column("provider_message_id", String(200), nullable=True),
    Column("delivery_state", String(12), nullable=True),
    Column("delivery_reported_at", UTCDateTime, nullable=True),
    # The customer it is for (quiet hours are theirs), and whether quiet hours hold it back.
    Column("user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("quiet", Boolean, nullable=False, default=False),
    CheckConstraint("channel IN ('sms', 'email')", name="channel"),
    CheckConstraint("state IN ('queued', 'sending', 'sent', 'dead')", name="state"),
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    CheckConstraint("(state = 'sending') = (claimed_until IS NOT NULL)", name="lease"),
    CheckConstraint(f"delivery_state IS NULL OR delivery_state IN {DELIVERY_STATES!r}",
                    name="delivery_state"),
    Index("ix_notification_outbox_state", "state", "id"),
    Index("ix_notification_outbox_due", "state", "next_attempt_at"),
    Index("ix_notification_outbox_recipient", "recipient", "id"),
)

# One row per part a provider accepted: written the moment it accepts, so that a worker that
# dies between two parts of a long SMS resumes after the last accepted one.
submissions = Table(
    "notification_submissions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("outbox_id", Id, ForeignKey("notification_outbox.id"), nullable=False),
    Column("part", Integer, nullable=False),
    Column("parts", Integer, nullable=False),
    Column("provider_message_id", String(200), nullable=False),
    Column("delivery_state", String(12), nullable=False),
    Column("error_code", String(8), nullable=True),
    Column("submitted_at", UTCDateTime, nullable=False),
    Column("reported_at", UTCDateTime, nullable=True),
    CheckConstraint("part >= 1 AND part <= parts", name="part_in_range"),
    CheckConstraint(f"delivery_state IN {DELIVERY_STATES!r}", name="delivery_state"),
    UniqueConstraint("outbox_id", "part"),
    Index("ix_notification_submissions_provider_id", "provider_message_id"),
)

preferences = Table(
    "notification_preferences",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("email_enabled", Boolean, nullable=False, default=True),
    Column("sms_enabled", Boolean, nullable=False, default=True),
    # Minutes after local midnight; the window may wrap midnight (22:00–07:00).
    Column("quiet_start", Integer, nullable=True),
    Column("quiet_end", Integer, nullable=True),
    Column("timezone", String(64), nullable=False, default="UTC"),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("(quiet_start IS NULL) = (quiet_end IS NULL)", name="quiet_pair"),
    CheckConstraint("quiet_start IS NULL OR (quiet_start >= 0 AND quiet_start < 1440 AND "
                    "quiet_end >= 0 AND quiet_end < 1440 AND quiet_start <> quiet_end)",
                    name="quiet_range"),
)
