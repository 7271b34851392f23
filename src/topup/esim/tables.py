"""eSIM profiles in stock, what happened to each, and the low-stock alerts of each pool.

A profile is one downloadable eSIM the SM-DP+ holds for the operator: its ICCID, the SM-DP+
that serves it and the matching id of its activation code, and where a confirmation code is
needed, that code sealed under a key from settings (``esim/sealing.py``). Each profile has
its line (made, provisioned and unbound, when the profile is imported), so the network knows
its IMSI before anyone buys it. A pool is a profile type in a zone: a store sells from the
pools whose zone covers a plan's.

States: ``available`` → ``reserved`` (by an unpaid order, until ``reserved_until``) →
``assigned`` (paid: its line is the buyer's) → ``installed``, ``failed`` (the SM-DP+'s
download progress says so) or ``deleted``; a reservation given up returns it to
``available``.
"""

from __future__ import annotations

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from topup.db.metadata import UTCDateTime, metadata, where_set
from topup.ledger.tables import Id

PROFILE_STATES = ("available", "reserved", "assigned", "installed", "failed", "deleted")

esim_profiles = Table(
    "esim_profiles",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("iccid", String(20), nullable=False, unique=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False, unique=True),
    Column("profile_type", String(64), nullable=False),
    Column("zone_code", String(16), nullable=False),
    Column("smdp_address", String(255), nullable=False),
    Column("matching_id", String(255), nullable=False),
    Column("confirmation_sealed", String(255), nullable=True),  # see esim/sealing.py
    Column("state", String(10), nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),  # reserving / buying
    Column("reserved_until", UTCDateTime, nullable=True),
    Column("assigned_at", UTCDateTime, nullable=True),
    Column("installed_at", UTCDateTime, nullable=True),
    Column("released_at", UTCDateTime, nullable=True),  # last given back to stock
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(f"state IN {PROFILE_STATES!r}", name="state"),
    CheckConstraint("(state = 'reserved') = (reserved_until IS NOT NULL)", name="reservation"),
    CheckConstraint("state IN ('available', 'reserved', 'deleted') OR order_id IS NOT NULL",
                    name="held_by_order"),
    # the pick of a pool's next profile: available first, given back longest ago first
    Index("ix_esim_profiles_pool", "profile_type", "zone_code", "state", "id"),
    Index("ix_esim_profiles_order", "order_id", **where_set("order_id")),
    Index("ix_esim_profiles_reserved", "reserved_until", **where_set("reserved_until")),
)

esim_profile_events = Table(
    "esim_profile_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("profile_id", Id, ForeignKey("esim_profiles.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("source", String(16), nullable=False),  # smdp | store | operator | sweep
    Column("point", Integer, nullable=True),  # the SM-DP+'s notificationPointId
    Column("status", String(32), nullable=False),  # its status, or the move made
    Column("reported_at", String(40), nullable=True),  # the SM-DP+'s own timestamp
    Column("detail", String(500), nullable=True),
    # one SM-DP+ report is kept once, however often it is sent again
    UniqueConstraint("profile_id", "point", "status", "reported_at", name="uq_esim_report"),
    Index("ix_esim_profile_events_profile", "profile_id", "id"),
)

esim_stock_alerts = Table(
    "esim_stock_alerts",
    metadata,
    Column("profile_type", String(64), nullable=False),
    Column("zone_code", String(16), nullable=False),
    Column("alerted_at", UTCDateTime, nullable=False),  # last alert: once per fall below
    Column("available", Integer, nullable=False),  # stock when alerted
    PrimaryKeyConstraint("profile_type", "zone_code"),
)
