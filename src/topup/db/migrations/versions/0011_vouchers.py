"""vouchers: scratch-card batches and vouchers (PIN stored only as a keyed hash)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
BATCH_STATES = "('created', 'active', 'frozen')"
VOUCHER_STATES = ("('generated', 'distributed', 'active', 'reserved', 'used', 'expired', "
                  "'blocked')")


def upgrade() -> None:
    op.create_table('voucher_batches',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('label', sa.String(length=200), nullable=True),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('face_amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('plan_id', Id, nullable=True),
    sa.Column('pin_length', sa.Integer(), nullable=False),
    sa.Column('serial_first', sa.BigInteger(), nullable=False),
    sa.Column('serial_last', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('distributor', sa.String(length=200), nullable=True),
    sa.Column('agent_id', Id, nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('state_before_freeze', sa.String(length=12), nullable=True),
    sa.Column('generated', sa.Integer(), nullable=False),
    sa.Column('generated_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('created_by', Id, nullable=True),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('activated_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.CheckConstraint('count > 0', name=op.f('ck_voucher_batches_count_positive')),
    sa.CheckConstraint('face_amount > 0', name=op.f('ck_voucher_batches_face_positive')),
    sa.CheckConstraint('pin_length BETWEEN 14 AND 16', name=op.f('ck_voucher_batches_pin_length')),
    sa.CheckConstraint('serial_last - serial_first + 1 = count', name=op.f('ck_voucher_batches_serial_range')),
    sa.CheckConstraint('generated >= 0 AND generated <= count', name=op.f('ck_voucher_batches_generated_range')),
    sa.CheckConstraint(f'state IN {BATCH_STATES}', name=op.f('ck_voucher_batches_state')),
    sa.CheckConstraint("(state = 'frozen') = (state_before_freeze IS NOT NULL)", name=op.f('ck_voucher_batches_freeze_memory')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_voucher_batches_created_by_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_voucher_batches_plan_id_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_batches')),
    sa.UniqueConstraint('serial_first', name=op.f('uq_voucher_batches_serial_first'))
    )
    op.create_table('vouchers',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('batch_id', Id, nullable=False),
    sa.Column('serial', sa.BigInteger(), nullable=False),
    sa.Column('pin_hash', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('state_before_block', sa.String(length=12), nullable=True),
    sa.Column('activated_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('sale_key', sa.String(length=120), nullable=True),
    sa.Column('holds', sa.Integer(), nullable=False),
    sa.Column('hold_id', Id, nullable=True),
    sa.Column('hold_until', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('line_id', Id, nullable=True),
    sa.Column('order_id', Id, nullable=True),
    sa.Column('used_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.CheckConstraint(f'state IN {VOUCHER_STATES}', name=op.f('ck_vouchers_state')),
    sa.CheckConstraint("(state = 'blocked') = (state_before_block IS NOT NULL)", name=op.f('ck_vouchers_block_memory')),
    sa.CheckConstraint("(state = 'reserved') = (hold_until IS NOT NULL)", name=op.f('ck_vouchers_hold_window')),
    sa.CheckConstraint("state <> 'used' OR (order_id IS NOT NULL AND used_at IS NOT NULL)", name=op.f('ck_vouchers_used_has_order')),
    sa.CheckConstraint('holds >= 0', name=op.f('ck_vouchers_holds_non_negative')),
    sa.ForeignKeyConstraint(['batch_id'], ['voucher_batches.id'], name=op.f('fk_vouchers_batch_id_voucher_batches')),
    sa.ForeignKeyConstraint(['hold_id'], ['ledger_transfers.id'], name=op.f('fk_vouchers_hold_id_ledger_transfers')),
    sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_vouchers_line_id_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_vouchers_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers')),
    sa.UniqueConstraint('pin_hash', name=op.f('uq_vouchers_pin_hash')),
    sa.UniqueConstraint('sale_key', name=op.f('uq_vouchers_sale_key')),
    sa.UniqueConstraint('serial', name=op.f('uq_vouchers_serial'))
    )
    op.create_index('ix_vouchers_batch_state', 'vouchers', ['batch_id', 'state'], unique=False)
    op.create_index('ix_vouchers_hold_until', 'vouchers', ['hold_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_vouchers_hold_until', table_name='vouchers')
    op.drop_index('ix_vouchers_batch_state', table_name='vouchers')
    op.drop_table('vouchers')
    op.drop_table('voucher_batches')
