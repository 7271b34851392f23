"""Voucher batches and vouchers (scratch cards).

A batch is what the print shop receives: ``count`` cards with consecutive serials, one face
value (money, or a plan priced at batch time), one expiry. Batch states: ``created`` (printed,
not paid for), ``active`` (sold to a distributor: every unsold card is active), ``frozen``
(blocked; the state before is remembered and restored on unblock).

A voucher's PIN is kept only as an HMAC (UNIQUE, so redemption finds it in one index probe);
the serial is public. Voucher states: ``generated`` -> ``distributed`` -> ``active`` ->
``reserved`` (a redemption in flight, ``hold_until`` set) -> ``used``; or ``expired``;
``blocked`` from generated/distributed/active (the state before is remembered).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
)

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

BATCH_STATES = ("created", "active", "frozen")
VOUCHER_STATES = ("generated", "distributed", "active", "reserved", "used", "expired", "blocked")
BLOCKABLE = ("generated", "distributed", "active")

voucher_batches = Table(
    "voucher_batches",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("label", String(200), nullable=True),
    Column("count", Integer, nullable=False),
    Column("face_amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("plan_id", Id, ForeignKey("plans.id"), nullable=True),
    Column("pin_length", Integer, nullable=False),
    Column("serial_first", BigInteger, nullable=False, unique=True),
    Column("serial_last", BigInteger, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("distributor", String(200), nullable=True),
    Column("agent_id", Id, nullable=True),  # agents arrive later: no foreign key yet
    Column("state", String(12), nullable=False),
    Column("state_before_freeze", String(12), nullable=True),
    Column("generated", Integer, nullable=False, default=0),
    Column("generated_at", UTCDateTime, nullable=True),
    Column("created_by", Id, ForeignKey("users.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("activated_at", UTCDateTime, nullable=True),
    CheckConstraint("count > 0", name="count_positive"),
    CheckConstraint("face_amount > 0", name="face_positive"),
    CheckConstraint("pin_length BETWEEN 14 AND 16", name="pin_length"),
    CheckConstraint("serial_last - serial_first + 1 = count", name="serial_range"),
    CheckConstraint("generated >= 0 AND generated <= count", name="generated_range"),
    CheckConstraint(f"state IN {BATCH_STATES!r}", name="state"),
    CheckConstraint("(state = 'frozen') = (state_before_freeze IS NOT NULL)",
                    name="freeze_memory"),
)

vouchers = Table(
    "vouchers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("batch_id", Id, ForeignKey("voucher_batches.id"), nullable=False),
    Column("serial", BigInteger, nullable=False, unique=True),
    Column("pin_hash", String(64), nullable=False, unique=True),
    Column("state", String(12), nullable=False),
    Column("state_before_block", String(12), nullable=True),
    Column("activated_at", UTCDateTime, nullable=True),
    Column("sale_key", String(120), nullable=True, unique=True),
    Column("holds", Integer, nullable=False, default=0),
    Column("hold_id", Id, ForeignKey("ledger_transfers.id"), nullable=True),
    Column("hold_until", UTCDateTime, nullable=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("used_at", UTCDateTime, nullable=True),
    CheckConstraint(f"state IN {VOUCHER_STATES!r}", name="state"),
    CheckConstraint("(state = 'blocked') = (state_before_block IS NOT NULL)",
                    name="block_memory"),
    CheckConstraint("(state = 'reserved') = (hold_until IS NOT NULL)", name="hold_window"),
    CheckConstraint("state <> 'used' OR (order_id IS NOT NULL AND used_at IS NOT NULL)",
                    name="used_has_order"),
    CheckConstraint("holds >= 0", name="holds_non_negative"),
    Index("ix_vouchers_batch_state", "batch_id", "state"),
    Index("ix_vouchers_hold_until", "hold_until"),
)
