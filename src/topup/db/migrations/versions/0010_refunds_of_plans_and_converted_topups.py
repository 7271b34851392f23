"""refunds of plans and of converted top-ups: a bucket may be refunded; a refund records the
wallet side when the wallet is in another currency than the payment

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('buckets') as batch:
        batch.drop_constraint(op.f('ck_buckets_state'), type_='check')
        batch.create_check_constraint(
            op.f('ck_buckets_state'), "state IN ('active', 'expired', 'refunded')")
    with op.batch_alter_table('order_refunds') as batch:
        batch.add_column(sa.Column('wallet_amount', sa.BigInteger(), nullable=True))
        batch.create_check_constraint(
            op.f('ck_order_refunds_wallet_amount_positive'),
            'wallet_amount IS NULL OR wallet_amount > 0')


def downgrade() -> None:
    with op.batch_alter_table('order_refunds') as batch:
        batch.drop_constraint(op.f('ck_order_refunds_wallet_amount_positive'), type_='check')
        batch.drop_column('wallet_amount')
    with op.batch_alter_table('buckets') as batch:
        batch.drop_constraint(op.f('ck_buckets_state'), type_='check')
        batch.create_check_constraint(op.f('ck_buckets_state'), "state IN ('active', 'expired')")
