"""eSIM profiles: the store's stock

Profiles imported from a vendor's file (``esim_profiles``, each with its provisioned line),
what happened to each (``esim_profile_events``: the store's moves and the SM-DP+'s download
progress reports, each report kept once), and the pools already alerted as low in stock
(``esim_stock_alerts``).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 14:05:59.167418
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('esim_stock_alerts',
    sa.Column('profile_type', sa.String(length=64), nullable=False),
    sa.Column('zone_code', sa.String(length=16), nullable=False),
    sa.Column('alerted_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('available', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('profile_type', 'zone_code', name=op.f('pk_esim_stock_alerts'))
    )
    op.create_table('esim_profiles',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('iccid', sa.String(length=20), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('profile_type', sa.String(length=64), nullable=False),
    sa.Column('zone_code', sa.String(length=16), nullable=False),
    sa.Column('smdp_address', sa.String(length=255), nullable=False),
    sa.Column('matching_id', sa.String(length=255), nullable=False),
    sa.Column('confirmation_sealed', sa.String(length=255), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reserved_until', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('assigned_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('installed_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('released_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('updated_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(state = 'reserved') = (reserved_until IS NOT NULL)", name=op.f('ck_esim_profiles_reservation')),
    sa.CheckConstraint("state IN ('available', 'reserved', 'deleted') OR order_id IS NOT NULL", name=op.f('ck_esim_profiles_held_by_order')),
    sa.CheckConstraint("state IN ('available', 'reserved', 'assigned', 'installed', 'failed', 'deleted')", name=op.f('ck_esim_profiles_state')),
    sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_esim_profiles_line_id_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_esim_profiles_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_esim_profiles')),
    sa.UniqueConstraint('iccid', name=op.f('uq_esim_profiles_iccid')),
    sa.UniqueConstraint('line_id', name=op.f('uq_esim_profiles_line_id'))
    )
    with op.batch_alter_table('esim_profiles', schema=None) as batch_op:
        batch_op.create_index('ix_esim_profiles_order', ['order_id'], unique=False, postgresql_where=sa.text('order_id IS NOT NULL'), sqlite_where=sa.text('order_id IS NOT NULL'))
        batch_op.create_index('ix_esim_profiles_pool', ['profile_type', 'zone_code', 'state', 'id'], unique=False)
        batch_op.create_index('ix_esim_profiles_reserved', ['reserved_until'], unique=False, postgresql_where=sa.text('reserved_until IS NOT NULL'), sqlite_where=sa.text('reserved_until IS NOT NULL'))

    op.create_table('esim_profile_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('profile_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('point', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('reported_at', sa.String(length=40), nullable=True),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['profile_id'], ['esim_profiles.id'], name=op.f('fk_esim_profile_events_profile_id_esim_profiles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_esim_profile_events')),
    sa.UniqueConstraint('profile_id', 'point', 'status', 'reported_at', name='uq_esim_report')
    )
    with op.batch_alter_table('esim_profile_events', schema=None) as batch_op:
        batch_op.create_index('ix_esim_profile_events_profile', ['profile_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('esim_profile_events', schema=None) as batch_op:
        batch_op.drop_index('ix_esim_profile_events_profile')

    op.drop_table('esim_profile_events')
    with op.batch_alter_table('esim_profiles', schema=None) as batch_op:
        batch_op.drop_index('ix_esim_profiles_reserved', postgresql_where=sa.text('reserved_until IS NOT NULL'), sqlite_where=sa.text('reserved_until IS NOT NULL'))
        batch_op.drop_index('ix_esim_profiles_pool')
        batch_op.drop_index('ix_esim_profiles_order', postgresql_where=sa.text('order_id IS NOT NULL'), sqlite_where=sa.text('order_id IS NOT NULL'))

    op.drop_table('esim_profiles')
    op.drop_table('esim_stock_alerts')
