"""Tables of retail agents, their staff, commission tiers, sales, KYC records and terminals.

Invariants held by the schema:
- an agent's kind and state are from fixed lists; a store's parent is another agent row;
- a login is staff of at most one agent (``agent_staff.user_id`` is the primary key);
- one sale per order and per voucher serial (a retried sale cannot be recorded twice);
- a KYC record keeps only the masked number and a keyed hash, never the number itself
  (``id_masked`` is four characters plus a fixed mask);
- a terminal's key id is unique; its secret is never stored (it is derived, see
  ``terminals.py``); a nonce is accepted once per terminal (primary key), which is how a
  replayed request is refused.
"""

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

AGENT_KINDS = ("chain", "store", "dealer", "post_office", "kiosk_operator")
AGENT_STATES = ("active", "suspended")
TERMINAL_STATES = ("active", "disabled")
SALE_KINDS = ("topup", "voucher")
TENDERS = ("cash", "card")
ID_TYPES = ("passport", "national_id", "residence_permit", "driving_licence")
MAX_BP = 10000  # basis points: 10000 = 100 %

commission_tiers = Table(
    "commission_tiers",
    metadata,
    Column("code", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("topup_bp", Integer, nullable=False),
    Column("voucher_bp", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(f"topup_bp >= 0 AND topup_bp <= {MAX_BP}", name="topup_bp_range"),
    CheckConstraint(f"voucher_bp >= 0 AND voucher_bp <= {MAX_BP}", name="voucher_bp_range"),
)

agents = Table(
    "agents",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("parent_id", Id, ForeignKey("agents.id"), nullable=True, index=True),
    Column("tier", String(20), ForeignKey("commission_tiers.code"), nullable=False),
    Column("country", String(2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state_changed_at", UTCDateTime, nullable=False),
    CheckConstraint(f"kind IN {AGENT_KINDS!r}", name="kind"),
    CheckConstraint(f"state IN {AGENT_STATES!r}", name="state"),
    CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
)

agent_staff = Table(
    "agent_staff",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True, autoincrement=False),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
)

agent_terminals = Table(
    "agent_terminals",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False, index=True),
    # The terminal's own identity for orders, audit and Idempotency-Key records.
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, unique=True),
    Column("key_id", String(32), nullable=False, unique=True),
    # Random input of the secret's derivation; replaced when the secret is rotated.
    Column("salt", String(64), nullable=False),
    Column("label", String(100), nullable=False),
    Column("state", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state_changed_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=True),
    CheckConstraint(f"state IN {TERMINAL_STATES!r}", name="state"),
)

terminal_nonces = Table(
    "terminal_nonces",
    metadata,
    Column("terminal_id", Id, ForeignKey("agent_terminals.id"), nullable=False),
    Column("nonce", String(64), nullable=False),
    # Until then a request with this nonce could still pass the clock window.
    Column("expires_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("terminal_id", "nonce"),
    Index("ix_terminal_nonces_expires", "expires_at"),
)

agent_sales = Table(
    "agent_sales",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False),
    Column("terminal_id", Id, ForeignKey("agent_terminals.id"), nullable=True),
    Column("actor_id", Id, ForeignKey("users.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True, unique=True),
    Column("voucher_serial", String(64), nullable=True, unique=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("commission", BigInteger, nullable=False),
    Column("tender", String(8), nullable=True),
    # The ``ref`` every ledger transfer of this sale carries (reports join on it).
    Column("ledger_ref", String(80), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"kind IN {SALE_KINDS!r}", name="kind"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("commission >= 0", name="commission_non_negative"),
    CheckConstraint(f"tender IS NULL OR tender IN {TENDERS!r}", name="tender"),
    CheckConstraint("(kind = 'topup') = (order_id IS NOT NULL)", name="order_link"),
    CheckConstraint("(kind = 'voucher') = (voucher_serial IS NOT NULL)", name="voucher_link"),
    Index("ix_agent_sales_agent", "agent_id", "created_at"),
    Index("ix_agent_sales_terminal", "terminal_id", "created_at"),
)

agent_kyc_records = Table(
    "agent_kyc_records",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("sale_id", Id, ForeignKey("agent_sales.id"), nullable=False, unique=True),
    Column("agent_id", Id, ForeignKey("agents.id"), nullable=False, index=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=True),
    Column("country", String(2), nullable=False),  # whose rule asked for it
    Column("id_type", String(20), nullable=False),
    Column("id_masked", String(12), nullable=False),
    Column("id_hash", String(64), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint(f"id_type IN {ID_TYPES!r}", name="id_type"),
    CheckConstraint("id_masked LIKE '****%'", name="masked"),
)
