"""Fees: a fee column on orders (part of a submitted order's terms) and the fee rules.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_TERMS = ("line_id", "kind", "plan_id", "amount", "currency", "method", "customer_id")
NEW_TERMS = (*OLD_TERMS, "fee")

PG_TRIGGER = """
DROP TRIGGER IF EXISTS orders_terms_immutable ON orders;
CREATE TRIGGER orders_terms_immutable BEFORE UPDATE OF {cols} ON orders
  FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION topup_refuse_change();
"""
SQLITE_TRIGGER = """CREATE TRIGGER orders_terms_immutable BEFORE UPDATE OF {cols} ON orders
       WHEN {changed}
       BEGIN SELECT RAISE(ABORT, 'orders is immutable'); END"""


def _trigger(terms: tuple[str, ...]) -> None:
    cols = ", ".join(terms)
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in terms)
        op.execute(PG_TRIGGER.format(cols=cols, changed=changed))
    else:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in terms)
        op.execute("DROP TRIGGER IF EXISTS orders_terms_immutable")
        op.execute(SQLITE_TRIGGER.format(cols=cols, changed=changed))


def upgrade() -> None:
    # Plain ALTER (not batch mode): copying the table on SQLite would drop its triggers.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders ADD COLUMN fee BIGINT NOT NULL DEFAULT 0")
        op.execute("ALTER TABLE orders ADD CONSTRAINT ck_orders_fee_non_negative "
                   "CHECK (fee >= 0)")
    else:
        op.execute("ALTER TABLE orders ADD COLUMN fee BIGINT NOT NULL DEFAULT 0 "
                   "CONSTRAINT ck_orders_fee_non_negative CHECK (fee >= 0)")
    _trigger(NEW_TERMS)
    op.create_table(
        "fee_rules",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("fixed", sa.BigInteger(), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.CheckConstraint("fixed >= 0", name=op.f("ck_fee_rules_fixed_non_negative")),
        sa.CheckConstraint("rate_bp >= 0 AND rate_bp <= 10000",
                           name=op.f("ck_fee_rules_rate_bp_range")),
        sa.CheckConstraint("fixed > 0 OR rate_bp > 0", name=op.f("ck_fee_rules_charges_something")),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_fee_rules_currency_length")),
        sa.PrimaryKeyConstraint("channel", "method", "currency", name=op.f("pk_fee_rules")),
    )


def downgrade() -> None:
    op.drop_table("fee_rules")
    _trigger(OLD_TERMS)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE orders DROP COLUMN fee")
    else:
        op.execute("DROP TRIGGER IF EXISTS orders_terms_immutable")
        op.execute("ALTER TABLE orders DROP COLUMN fee")
        _trigger(OLD_TERMS)
