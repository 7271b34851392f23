"""Triggers: ledger transfers are append-only; a submitted order's terms never change.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ORDER_TERMS = ("line_id", "kind", "plan_id", "amount", "currency", "method", "customer_id")

PG = """
CREATE FUNCTION topup_refuse_change() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION '% is immutable', TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transfers_append_only BEFORE UPDATE OR DELETE ON ledger_transfers
  FOR EACH ROW EXECUTE FUNCTION topup_refuse_change();
CREATE TRIGGER orders_terms_immutable BEFORE UPDATE OF {cols} ON orders
  FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION topup_refuse_change();
"""

SQLITE = [
    """CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
       BEGIN SELECT RAISE(ABORT, 'ledger_transfers is immutable'); END""",
    """CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
       BEGIN SELECT RAISE(ABORT, 'ledger_transfers is immutable'); END""",
    """CREATE TRIGGER orders_terms_immutable BEFORE UPDATE OF {cols} ON orders
       WHEN {changed}
       BEGIN SELECT RAISE(ABORT, 'orders is immutable'); END""",
]


def upgrade() -> None:
    cols = ", ".join(ORDER_TERMS)
    if op.get_bind().dialect.name == "postgresql":
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in ORDER_TERMS)
        op.execute(PG.format(cols=cols, changed=changed))
    else:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ORDER_TERMS)
        for stmt in SQLITE:
            op.execute(stmt.format(cols=cols, changed=changed))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER orders_terms_immutable ON orders")
        op.execute("DROP TRIGGER ledger_transfers_append_only ON ledger_transfers")
        op.execute("DROP FUNCTION topup_refuse_change()")
    else:
        for name in ("orders_terms_immutable", "ledger_transfers_no_update",
                     "ledger_transfers_no_delete"):
            op.execute(f"DROP TRIGGER {name}")
