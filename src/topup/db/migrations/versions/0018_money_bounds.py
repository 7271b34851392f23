"""money bounds: account totals and transfer amounts stay inside their range

Every ledger account total is at most 2**62 and every transfer at most 2**56, so no sum
overflows 64 bits (on SQLite an overflowing integer silently turns into a REAL, which these
bounds refuse too). SQLite rebuilds ``ledger_transfers`` to add its CHECK, which drops the
table's immutability triggers: they are made again here. A database whose books already hold
a total past the range (hole 1 of issue 11) refuses the upgrade: repair those accounts first.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

MAX_TOTAL = 2**62
MAX_TRANSFER = 2**56
TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
WITHIN_RANGE = " AND ".join(f"{name} <= {MAX_TOTAL}" for name in TOTALS)

SQLITE_TRIGGERS = [
    """CREATE TRIGGER ledger_transfers_no_update BEFORE UPDATE ON ledger_transfers
       BEGIN SELECT RAISE(ABORT, 'ledger_transfers is immutable'); END""",
    """CREATE TRIGGER ledger_transfers_no_delete BEFORE DELETE ON ledger_transfers
       BEGIN SELECT RAISE(ABORT, 'ledger_transfers is immutable'); END""",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _transfers(add: bool) -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_delete")
    with op.batch_alter_table('ledger_transfers') as batch:
        if add:
            batch.create_check_constraint(op.f('ck_ledger_transfers_amount_within_range'),
                                          f"amount <= {MAX_TRANSFER}")
        else:
            batch.drop_constraint(op.f('ck_ledger_transfers_amount_within_range'),
                                  type_='check')
    if _sqlite():
        for stmt in SQLITE_TRIGGERS:
            op.execute(stmt)


def upgrade() -> None:
    with op.batch_alter_table('ledger_accounts') as batch:
        batch.create_check_constraint(op.f('ck_ledger_accounts_within_range'), WITHIN_RANGE)
    _transfers(add=True)


def downgrade() -> None:
    _transfers(add=False)
    with op.batch_alter_table('ledger_accounts') as batch:
        batch.drop_constraint(op.f('ck_ledger_accounts_within_range'), type_='check')
