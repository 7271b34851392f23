"""order quotes: the price quote an order was confirmed with, kept on the order

``orders.quote`` (JSON, the catalogue's ``Quote.to_json``: list price, discounts, fee and
total, each line named) joins a submitted order's immutable terms. Orders made before it have
none (their amount and fee are their quote). On SQLite the column is added in place (a batch
copy would drop the table's immutability triggers); on PostgreSQL the trigger compares the
JSON as text (``json`` has no equality operator).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import importlib

from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

GROUPS = importlib.import_module('topup.db.migrations.versions.0025_line_groups')
FEES = GROUPS.FX.fees  # the order terms' trigger (0006), which 0025 last set
TERMS = (*GROUPS.TERMS, 'quote')


def _trigger() -> None:
    """The terms trigger of 0006 with ``quote`` among the terms."""
    cols = ', '.join(TERMS)
    if op.get_bind().dialect.name == 'postgresql':
        changed = ' OR '.join(
            f'OLD.{c}::text IS DISTINCT FROM NEW.{c}::text' if c == 'quote'
            else f'OLD.{c} IS DISTINCT FROM NEW.{c}' for c in TERMS)
        op.execute(FEES.PG_TRIGGER.format(cols=cols, changed=changed))
    else:
        changed = ' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in TERMS)
        op.execute('DROP TRIGGER IF EXISTS orders_terms_immutable')
        op.execute(FEES.SQLITE_TRIGGER.format(cols=cols, changed=changed))


def upgrade() -> None:
    op.execute('ALTER TABLE orders ADD COLUMN quote JSON')
    _trigger()


def downgrade() -> None:
    FEES._trigger(GROUPS.TERMS)  # the terms without the quote, before its column goes
    op.execute('ALTER TABLE orders DROP COLUMN quote')
