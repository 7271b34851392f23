"""Orders, their state history, and the API's Idempotency-Key records.

An order is immutable once submitted: triggers (see the migrations) refuse any change to its
line, kind, plan, amount, currency, method, fee, conversion terms, group or price quote.
"""

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
    column,
    select,
    table,
)
from sqlalchemy.sql.elements import ColumnElement

from topup.db.metadata import UTCDateTime, metadata, where_set
from topup.ledger.tables import Id

ORDER_STATES = ("created", "awaiting_payment", "paid", "fulfilled", "failed", "cancelled",
                "expired", "refunded")

orders = Table(
    "orders",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("customer_id", Id, ForeignKey("users.id"), nullable=True),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("plan_id", Id, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False, server_default="0"),
    Column("credit_currency", String(3), nullable=True),
    Column("credit_amount", BigInteger, nullable=True),
    Column("fx_rate", String(40), nullable=True),
    Column("currency", String(3), nullable=False),
    Column("method", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("state", String(20), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("created_by", Id, ForeignKey("users.id"), nullable=True),
    Column("confirmed_duplicate", Boolean, nullable=False, default=False),
    Column("payment_ref", String(120), nullable=True),
    Column("bucket_id", Id, nullable=True),
    Column("group_id", Id, ForeignKey("line_groups.id"), nullable=True),  # a plan shared by it
    Column("next_action", JSON, nullable=True),
    # the catalogue's price quote the order was confirmed with (``Quote.to_json``); none on
    # orders made before quotes were kept
    Column("quote", JSON, nullable=True),
    Column("renewal", Boolean, nullable=False, default=False),
    Column("failure_code", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("fulfilled_at", UTCDateTime, nullable=True),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("fee >= 0", name="fee_non_negative"),
    CheckConstraint("(credit_currency IS NULL) = (credit_amount IS NULL) AND "
                    "(credit_currency IS NULL) = (fx_rate IS NULL) AND "
                    "(credit_amount IS NULL OR credit_amount > 0)", name="fx_terms"),
    CheckConstraint("kind IN ('topup', 'plan')", name="kind"),
    CheckConstraint("(kind = 'plan') = (plan_id IS NOT NULL)", name="plan_link"),
    CheckConstraint(f"state IN {ORDER_STATES!r}", name="state"),
    CheckConstraint("method <> 'manual' OR reason IS NOT NULL", name="manual_reason"),
    CheckConstraint("method <> 'wallet' OR kind = 'plan'", name="wallet_buys_plans"),
    CheckConstraint("group_id IS NULL OR kind = 'plan'", name="group_buys_plans"),
    Index("ix_orders_line", "line_id", "id"),
    Index("ix_orders_dup", "line_id", "kind", "amount", "created_at"),
    # most orders have no payment reference (manual credits) or no customer: no entry for them
    # (on PostgreSQL the index is a plain one per partition: ``payment_refs`` keeps it unique)
    Index("uq_orders_payment_ref", "payment_ref", unique=True, **where_set("payment_ref")),
    Index("ix_orders_customer_id", "customer_id", **where_set("customer_id")),
)

# PostgreSQL only (migration 0033): orders are range-partitioned on ``id`` there, so the
# unique payment reference lives in this key table, written by a trigger. Not part of
# ``metadata``: SQLite has none.
payment_refs = table(
    "order_payment_refs",
    column("payment_ref", String(120)),
    column("order_id", BigInteger),
)


def with_payment_ref(dialect: str, payment_ref: str) -> ColumnElement[bool]:
    """``orders.payment_ref = payment_ref``, found on PostgreSQL through the key table, so
    that one partition of orders is read, not every partition's index."""
    if dialect == "postgresql":
        return orders.c.id == select(payment_refs.c.order_id).where(
            payment_refs.c.payment_ref == payment_ref).scalar_subquery()
    return orders.c.payment_ref == payment_ref


# On PostgreSQL partitioned by month on ``at`` (primary key ``(id, at)``; docs/partitioning.md).
order_events = Table(
    "order_events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("from_state", String(20), nullable=True),
    Column("to_state", String(20), nullable=False),
    Column("note", String(200), nullable=True),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("owner_id", Id, nullable=False),
    Column("key", String(255), nullable=False),
    Column("method", String(8), nullable=False),
    Column("path", String(200), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("owner_id", "key"),
)

refunds = Table(
    "order_refunds",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=False, index=True),
    Column("idempotency_key", String(300), nullable=False, unique=True),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("state", String(10), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("actor_id", Id, ForeignKey("users.id"), nullable=True),
    Column("pending_transfer_id", Id, nullable=True),
    Column("provider_refund_ref", String(255), nullable=True),
    Column("failure", String(300), nullable=True),
    # Minor units taken from the wallet, when it is in another currency than the payment.
    Column("wallet_amount", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("wallet_amount IS NULL OR wallet_amount > 0", name="wallet_amount_positive"),
    CheckConstraint("state IN ('pending', 'succeeded', 'failed')", name="state"),
)

RENEWAL_STATES = ("retry", "running", "renewed", "given_up")

# One row per bucket that auto-renew took up: a lease while a worker renews it, the attempts
# and the next one after a failure, and the renewal order once there is one.
auto_renewals = Table(
    "auto_renewals",
    metadata,
    Column("bucket_id", Id, primary_key=True, autoincrement=False),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("plan_id", Id, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint(f"state IN {RENEWAL_STATES!r}", name="state"),
    CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    CheckConstraint("state <> 'running' OR lease_until IS NOT NULL", name="leased"),
    CheckConstraint("state <> 'renewed' OR order_id IS NOT NULL", name="renewed_names_order"),
    Index("ix_auto_renewals_due", "state", "next_attempt_at"),
)

AUTO_TOPUP_OUTCOMES = ("charging", "pending", "paid", "declined", "refused", "capped",
                       "unavailable")

# One row per line whose traveller asked for automatic top-ups: the rule (below ``threshold``
# of available balance, top up ``amount`` with saved method ``method_id``, at most this many
# or this much in 24 hours), whether the rule is switched on (``enabled``) and ready to fire
# (``armed``: cleared by the firing, set again once the balance is back at or above the
# threshold), the top-up it made last and, while that one is in flight, ``lease_until``.
auto_topups = Table(
    "auto_topups",
    metadata,
    Column("line_id", Id, ForeignKey("lines.id"), primary_key=True, autoincrement=False),
    Column("customer_id", Id, ForeignKey("users.id"), nullable=False),
    Column("method_id", Id, ForeignKey("saved_payment_methods.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("threshold", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("max_per_day", Integer, nullable=False),
    Column("max_amount_per_day", BigInteger, nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("armed", Boolean, nullable=False),
    Column("order_id", Id, ForeignKey("orders.id"), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("held_until", UTCDateTime, nullable=True),
    Column("last_outcome", String(12), nullable=True),
    Column("last_error", String(300), nullable=True),
    Column("fired_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("threshold >= 0", name="threshold_non_negative"),
    CheckConstraint("amount > 0", name="amount_positive"),
    CheckConstraint("max_per_day >= 1", name="max_per_day_positive"),
    CheckConstraint("max_amount_per_day IS NULL OR max_amount_per_day >= amount",
                    name="max_amount_covers_one"),
    CheckConstraint("lease_until IS NULL OR order_id IS NOT NULL", name="lease_names_order"),
    CheckConstraint(f"last_outcome IS NULL OR last_outcome IN {AUTO_TOPUP_OUTCOMES!r}",
                    name="last_outcome"),
    Index("ix_auto_topups_due", "enabled", "armed"),
)
