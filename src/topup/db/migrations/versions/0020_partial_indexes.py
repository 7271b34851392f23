"""partial indexes: columns that stay empty on most rows keep no index entry for them

Every manual credit, card payment and usage record wrote an index entry for a NULL in four
places: an order's payment reference (only provider payments have one) and customer (lines
without an account have none), a ledger transfer's pending link and time-out (only two-phase
transfers have them). The indexes now cover the rows where the column is set; what they
answer (a payment by its reference, a customer's orders, a pending transfer's resolution,
the transfers that time out) is unchanged, uniqueness included. SQLite rebuilds the two tables
whose unique constraints become indexes, which drops their immutability triggers: they are
made again as revisions 0007 (orders) and 0018 (ledger_transfers) left them.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 09:30:00.000000
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

# the order terms 0007 made immutable, and its trigger helper
FX = importlib.import_module("topup.db.migrations.versions.0007_fx_topups")

SQLITE_TRIGGERS = [
    """CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
       BEGIN SELECT RAISE(ABORT, 'ledger_transfers is immutable'); END""",
    """CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
       BEGIN SELECT RAISE(ABORT, 'ledger_transfers is immutable'); END""",
]

# (table, index, column, unique)
PARTIAL = [
    ("orders", "uq_orders_payment_ref", "payment_ref", True),
    ("orders", "ix_orders_customer_id", "customer_id", False),
    ("ledger_transfers", "uq_ledger_transfers_pending_id", "pending_id", True),
    ("ledger_transfers", "ix_ledger_transfers_timeout", "timeout_at", False),
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _unique_constraint(table: str, name: str, column: str, add: bool) -> None:
    """The full unique constraint of revision 0001, dropped (upgrade) or made again."""
    with op.batch_alter_table(table) as batch:
        if add:
            batch.create_unique_constraint(name, [column])
        else:
            batch.drop_constraint(name, type_='unique')
    if not _sqlite():
        return
    if table == "orders":
        FX.fees._trigger(FX.FX_TERMS)
    else:
        for stmt in SQLITE_TRIGGERS:
            op.execute(stmt)


def upgrade() -> None:
    for table, name, column, unique in PARTIAL:
        if unique:
            _unique_constraint(table, name, column, add=False)
        else:
            op.drop_index(name, table_name=table)
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, table, [column], unique=unique, postgresql_where=where,
                        sqlite_where=where)


def downgrade() -> None:
    for table, name, column, unique in PARTIAL:
        op.drop_index(name, table_name=table)
        if unique:
            _unique_constraint(table, name, column, add=True)
        else:
            op.create_index(name, table, [column])
