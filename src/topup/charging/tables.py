"""Buckets bought with plans, their per-unit ledger accounts, rated usage records, and the
sessions of online charging with what they hold."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    false,
    literal_column,
)

from topup.db.metadata import UTCDateTime, metadata, where_set
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
    # bought for a group of lines (``line_id`` is the buyer's, for the books): every line in
    # the group draws on it (charging/groups.py)
    Column("group_id", Id, ForeignKey("line_groups.id"), nullable=True),
    CheckConstraint("validity_start IN ('purchase', 'first_use')", name="validity_start"),
    CheckConstraint("state IN ('active', 'expired', 'refunded')", name="state"),
    CheckConstraint("(valid_from IS NULL) = (expires_at IS NULL)", name="window"),
    CheckConstraint("validity_start = 'first_use' OR valid_from IS NOT NULL", name="started"),
    CheckConstraint("expires_at IS NULL OR expires_at > valid_from", name="window_order"),
    Index("ix_buckets_line", "line_id", "state"),
    Index("ix_buckets_group_id", "group_id", "state", **where_set("group_id")),
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

# What each line of a group drew from each of the group's buckets (posted use; what its open
# charging sessions hold is read from their holds): the per-member figures and the caps.
group_member_use = Table(
    "group_member_use",
    metadata,
    Column("bucket_id", Id, ForeignKey("buckets.id"), nullable=False),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("unit", String(16), nullable=False),
    Column("used", BigInteger, nullable=False),
    PrimaryKeyConstraint("bucket_id", "line_id", "unit"),
    CheckConstraint("used >= 0", name="used_non_negative"),
    CheckConstraint("unit IN ('data', 'voice', 'sms')", name="unit"),
)

# On PostgreSQL partitioned by month on ``occurred_at`` (primary key ``(id, occurred_at)``);
# ``record_id`` stays unique across months through ``usage_record_ids`` (docs/partitioning.md).
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

# --- online charging: sessions that reserve before use (charging/sessions.py) -------------

charging_sessions = Table(
    "charging_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("ref", String(200), nullable=False, unique=True),  # the gateway's session id
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("country", String(2), nullable=False),  # where the line is served
    Column("state", String(10), nullable=False),
    Column("last_number", Integer, nullable=False),  # the request number answered last
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),  # silent past this: released
    # the last answer left the line short (a final quota, or none): a top-up re-authorizes
    Column("starved", Boolean, nullable=False, server_default=false()),
    Column("peer_host", String(255), nullable=True),  # a Diameter gateway's Origin-Host
    Column("peer_realm", String(255), nullable=True),  # and Origin-Realm, to send it a RAR
    Column("reauth_at", UTCDateTime, nullable=True),  # when it was sent one last
    # units committed so far, per unit (the grants' ``used``, summed as each closes): what
    # staff see of a live session without reading its closed grants
    Column("used_data", BigInteger, nullable=False, server_default="0"),
    Column("used_voice", BigInteger, nullable=False, server_default="0"),
    Column("used_sms", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("state IN ('open', 'closed', 'expired')", name="state"),
    CheckConstraint("last_number >= 0", name="number_non_negative"),
    Index("ix_charging_sessions_open", "state", "expires_at"),
    Index("ix_charging_sessions_starved", "state", "starved"),
    Index("ix_charging_sessions_line", "line_id", "state"),
)

charging_requests = Table(
    "charging_requests",
    metadata,
    Column("session_id", Id, ForeignKey("charging_sessions.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("answer", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("session_id", "number"),
)

charging_grants = Table(
    "charging_grants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("session_id", Id, ForeignKey("charging_sessions.id"), nullable=False),
    Column("rating_group", BigInteger, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("granted", BigInteger, nullable=False),
    Column("used", BigInteger, nullable=True),  # set when the grant is closed
    Column("final", Boolean, nullable=False),  # the last quota the balance allows
    Column("state", String(10), nullable=False),
    Column("valid_until", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    CheckConstraint("granted >= 0 AND (used IS NULL OR used >= 0)", name="non_negative"),
    CheckConstraint("state IN ('held', 'closed')", name="state"),
    CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
    CheckConstraint("unit IN ('data', 'voice', 'sms')", name="unit"),
)

# Where a grant is open, as the index below and every query of open grants spell it: written
# out, not bound, so that no plan made without the value misses the index.
HELD = charging_grants.c.state == literal_column("'held'")
# open grants only: a closed grant leaves the index (and the session's page of it), so the
# index holds what is live now, however long sessions run (docs/charging.md)
Index("ix_charging_grants_held", charging_grants.c.session_id, postgresql_where=HELD,
      sqlite_where=HELD)

charging_holds = Table(
    "charging_holds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("grant_id", Id, ForeignKey("charging_grants.id"), nullable=False),
    Column("transfer_id", Id, ForeignKey("ledger_transfers.id"), nullable=False, unique=True),
    Column("bucket_id", Id, ForeignKey("buckets.id"), nullable=True),  # else the wallet
    Column("quantity", BigInteger, nullable=False),  # units this hold covers
    Column("rate", BigInteger, nullable=True),  # money: minor units per ``per`` units
    Column("per", BigInteger, nullable=True),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    CheckConstraint("(bucket_id IS NULL) = (rate IS NOT NULL) AND (rate IS NULL) = (per IS NULL)",
                    name="source"),
    Index("ix_charging_holds_grant", "grant_id"),
)
