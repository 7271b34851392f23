"""Ledger tables. Invariants live here, in the schema, as well as in the service.

- amounts are positive; cached balance columns are never negative;
- an account marked ``no_overdraft`` (every customer account) never has debits (posted plus
  pending) above its posted credits;
- a transfer moves one unit between two different accounts of that same unit (composite
  foreign keys on ``(account_id, unit)``);
- idempotency ids are UNIQUE; a pending transfer is resolved (posted or voided) at most once
  (on PostgreSQL, where transfers are partitioned by id, both through the key table
  ``ledger_transfer_ids``: docs/partitioning.md);
- transfers are immutable: triggers refuse UPDATE and DELETE (see the migration);
- every account total stays at most ``MAX_TOTAL`` and every transfer at most ``MAX_TRANSFER``:
  far inside 64 bits, so no sum overflows (on SQLite an overflowing integer silently becomes a
  REAL, which these bounds refuse as well).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    column,
    table,
)

from topup.db.metadata import UTCDateTime, metadata, where_set

# The range of an account total and of one transfer, in the unit's smallest step.
MAX_TOTAL = 2**62
MAX_TRANSFER = 2**56
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
WITHIN_RANGE = " AND ".join(f"{name} <= {MAX_TOTAL}" for name in TOTALS)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")

accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("key", String(120), nullable=False, unique=True),
    Column("unit", String(16), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("line_id", Id, nullable=True, index=True),
    Column("no_overdraft", Boolean, nullable=False, default=False),
    Column("debits_posted", BigInteger, nullable=False, default=0),
    Column("credits_posted", BigInteger, nullable=False, default=0),
    Column("debits_pending", BigInteger, nullable=False, default=0),
    Column("credits_pending", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("id", "unit", name="uq_ledger_accounts_id_unit"),
    CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 "
        "AND credits_pending >= 0",
        name="non_negative",
    ),
    CheckConstraint(
        "NOT no_overdraft OR debits_posted + debits_pending <= credits_posted",
        name="no_overdraft",
    ),
    CheckConstraint(WITHIN_RANGE, name="within_range"),
)

transfers = Table(
    "ledger_transfers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("idempotency_id", String(200), nullable=False, unique=True),
    Column("debit_account_id", Id, nullable=False),
    Column("credit_account_id", Id, nullable=False),
    Column("unit", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("pending_id", Id, ForeignKey("ledger_transfers.id"), nullable=True),
    Column("timeout_at", UTCDateTime, nullable=True),
    Column("code", String(40), nullable=False),
    Column("ref", String(80), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(
        ["debit_account_id", "unit"],
        ["ledger_accounts.id", "ledger_accounts.unit"],
        name="fk_ledger_transfers_debit_unit",
    ),
    ForeignKeyConstraint(
        ["credit_account_id", "unit"],
        ["ledger_accounts.id", "ledger_accounts.unit"],
        name="fk_ledger_transfers_credit_unit",
    ),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint(f"amount <= {MAX_TRANSFER}", name="amount_within_range"),
    CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
    CheckConstraint(
        "kind IN ('posted', 'pending', 'post_pending', 'void_pending')", name="kind"
    ),
    CheckConstraint(
        "(kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
        name="pending_link",
    ),
    CheckConstraint("(kind = 'pending') OR timeout_at IS NULL", name="timeout_only_pending"),
    Index("ix_ledger_transfers_debit", "debit_account_id", "id"),
    Index("ix_ledger_transfers_credit", "credit_account_id", "id"),
    # only two-phase transfers have these: no index entry for the others
    Index("uq_ledger_transfers_pending_id", "pending_id", unique=True, **where_set("pending_id")),
    Index("ix_ledger_transfers_timeout", "timeout_at", **where_set("timeout_at")),
)

# PostgreSQL only (migration 0033): transfers are range-partitioned on ``id`` there, so their
# other unique keys live in this key table, one row per transfer, written by the ledger's own
# INSERT (``service._RECORD``) or else by a trigger. Not part of ``metadata``: SQLite has none.
transfer_keys = table(
    "ledger_transfer_ids",
    column("idempotency_id", String(200)),
    column("transfer_id", BigInteger),
    column("pending_id", BigInteger),
)
