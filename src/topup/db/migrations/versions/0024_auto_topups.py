"""auto top-ups: one row per line whose traveller asked for a top-up from a saved card when
the wallet's available balance falls below a threshold (armed until it fires, re-armed once
the balance is back at or above the threshold; capped per 24 hours)

Revision ID: 0024
Revises: 0022
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0024'
down_revision = '0022'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = topup.db.metadata.UTCDateTime
OUTCOMES = ("charging", "pending", "paid", "declined", "refused", "capped", "unavailable")


def upgrade() -> None:
    op.create_table(
        'auto_topups',
        sa.Column('line_id', Id, autoincrement=False, nullable=False),
        sa.Column('customer_id', Id, nullable=False),
        sa.Column('method_id', Id, nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('threshold', sa.BigInteger(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('max_per_day', sa.Integer(), nullable=False),
        sa.Column('max_amount_per_day', sa.BigInteger(), nullable=True),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('armed', sa.Boolean(), nullable=False),
        sa.Column('order_id', Id, nullable=True),
        sa.Column('lease_until', When(), nullable=True),
        sa.Column('held_until', When(), nullable=True),
        sa.Column('last_outcome', sa.String(length=12), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('fired_at', When(), nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.Column('updated_at', When(), nullable=False),
        sa.CheckConstraint('threshold >= 0',
                           name=op.f('ck_auto_topups_threshold_non_negative')),
        sa.CheckConstraint('amount > 0', name=op.f('ck_auto_topups_amount_positive')),
        sa.CheckConstraint('max_per_day >= 1', name=op.f('ck_auto_topups_max_per_day_positive')),
        sa.CheckConstraint('max_amount_per_day IS NULL OR max_amount_per_day >= amount',
                           name=op.f('ck_auto_topups_max_amount_covers_one')),
        sa.CheckConstraint('lease_until IS NULL OR order_id IS NOT NULL',
                           name=op.f('ck_auto_topups_lease_names_order')),
        sa.CheckConstraint(f'last_outcome IS NULL OR last_outcome IN {OUTCOMES!r}',
                           name=op.f('ck_auto_topups_last_outcome')),
        sa.ForeignKeyConstraint(['line_id'], ['lines.id'],
                                name=op.f('fk_auto_topups_line_id_lines')),
        sa.ForeignKeyConstraint(['customer_id'], ['users.id'],
                                name=op.f('fk_auto_topups_customer_id_users')),
        sa.ForeignKeyConstraint(['method_id'], ['saved_payment_methods.id'],
                                name=op.f('fk_auto_topups_method_id_saved_payment_methods')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_auto_topups_order_id_orders')),
        sa.PrimaryKeyConstraint('line_id', name=op.f('pk_auto_topups')),
    )
    op.create_index('ix_auto_topups_due', 'auto_topups', ['enabled', 'armed'])


def downgrade() -> None:
    op.drop_index('ix_auto_topups_due', table_name='auto_topups')
    op.drop_table('auto_topups')
