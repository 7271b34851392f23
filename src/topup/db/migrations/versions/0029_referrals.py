"""referrals: who registered with whose invite code, and when both sides were credited

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-05 18:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = topup.db.metadata.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'referrals',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('inviter_id', Id, nullable=False),
        sa.Column('invitee_id', Id, nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('order_id', Id, nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.Column('credited_at', When(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'credited')", name=op.f('ck_referrals_state')),
        sa.CheckConstraint('inviter_id <> invitee_id', name=op.f('ck_referrals_not_oneself')),
        sa.ForeignKeyConstraint(['inviter_id'], ['users.id'],
                                name=op.f('fk_referrals_inviter_id_users')),
        sa.ForeignKeyConstraint(['invitee_id'], ['users.id'],
                                name=op.f('fk_referrals_invitee_id_users')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_referrals_order_id_orders')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals')),
        sa.UniqueConstraint('invitee_id', name=op.f('uq_referrals_invitee_id')),
    )
    op.create_index('ix_referrals_pending', 'referrals', ['state', 'id'])


def downgrade() -> None:
    op.drop_table('referrals')
