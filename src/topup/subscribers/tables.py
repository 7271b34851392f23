"""Tables of users, auth tokens, attempt counters, reset codes, lines and line events, and the
groups of lines that share plans."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    text,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

ROLES = ("customer", "agent", "terminal", "network", "admin", "support", "finance")
LINE_STATES = ("provisioned", "active", "grace", "suspended", "terminated", "frozen")

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("email", String(254), nullable=True, unique=True),
    Column("phone", String(20), nullable=True, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("language", String(8), nullable=False, default="en"),
    Column("currency", String(3), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("email IS NOT NULL OR phone IS NOT NULL", name="has_login"),
    CheckConstraint(f"role IN {ROLES!r}", name="role"),
    CheckConstraint("language IN ('en', 'zh-CN')", name="language"),
)

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # "api": a bearer token from /auth/token; "web": the token behind a portal session
    # cookie, which only the portal accepts (with its idle and absolute limits).
    Column("kind", String(8), nullable=False, server_default="api"),
    CheckConstraint("kind IN ('api', 'web')", name="kind"),
)

# Throttle counters (subscribers/throttle.py): events of ``key`` since ``window_start``; the key
# waits until ``locked_until``. Markers (a known sign-in address) keep 0 and lapse then.
attempts = Table(
    "attempt_counters",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("window_start", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
    CheckConstraint("failures >= 0", name="failures_non_negative"),
)

reset_codes = Table(
    "password_reset_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("code_hash", String(64), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

lines = Table(
    "lines",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("iccid", String(20), nullable=False, unique=True),
    Column("msisdn", String(20), nullable=True, unique=True),
    Column("imsi", String(15), nullable=True, unique=True),
    Column("kind", String(4), nullable=False),
    Column("smdp_address", String(255), nullable=True),
    Column("matching_id", String(255), nullable=True),
    Column("secret_hash", String(64), nullable=False),
    Column("status", String(12), nullable=False),
    Column("status_before_freeze", String(12), nullable=True),
    Column("customer_id", Id, ForeignKey("users.id"), nullable=True, index=True),
    Column("currency", String(3), nullable=False),
    Column("home_country", String(2), nullable=True),
    Column("auto_renew", Boolean, nullable=False, default=False),
    Column("valid_until", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("bound_at", UTCDateTime, nullable=True),
    Column("status_changed_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('sim', 'esim')", name="kind"),
    CheckConstraint(f"status IN {LINE_STATES!r}", name="status"),
    CheckConstraint(
        "(status = 'frozen') = (status_before_freeze IS NOT NULL)", name="freeze_memory"
    ),
    CheckConstraint(
        "kind = 'sim' OR (smdp_address IS NOT NULL AND matching_id IS NOT NULL)",
        name="esim_activation",
    ),
)

line_events = Table(
    "line_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("from_status", String(12), nullable=True),
    Column("to_status", String(12), nullable=False),
    Column("actor_id", Id, ForeignKey("users.id"), nullable=True),
    Column("reason", String(500), nullable=True),
    Index("ix_line_events_line", "line_id", "id"),
)

# --- groups of a customer's lines that share the plans bought for them (subscribers/groups.py) --

line_groups = Table(
    "line_groups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("owner_id", Id, ForeignKey("users.id"), nullable=False),
    Column("name", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("length(name) > 0", name="name_given"),
    Index("ix_line_groups_owner", "owner_id", "id"),
)

# One row per stay of a line in a group: leaving sets ``left_at`` and keeps the row (what the
# line drew while it was in stays on the books); joining again makes a new row.
_LIVE = text("left_at IS NULL")
line_group_members = Table(
    "line_group_members",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("group_id", Id, ForeignKey("line_groups.id"), nullable=False),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("cap_bytes", BigInteger, nullable=True),  # data it may draw from the shared plans
    Column("joined_at", UTCDateTime, nullable=False),
    Column("left_at", UTCDateTime, nullable=True),
    CheckConstraint("cap_bytes IS NULL OR cap_bytes >= 0", name="cap_non_negative"),
    CheckConstraint("left_at IS NULL OR left_at >= joined_at", name="left_after_joined"),
    Index("ix_line_group_members_group", "group_id", "left_at"),
    # a line is in at most one group at a time
    Index("uq_line_group_members_live", "line_id", unique=True, postgresql_where=_LIVE,
          sqlite_where=_LIVE),
)
