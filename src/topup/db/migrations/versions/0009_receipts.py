"""receipts: one numbered receipt per paid order, and the per-year receipt counter

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 10:00:00.000000

(Revision 0009: 0006-0008 are fees, fx top-ups and saved payment methods. Rename the file
0009_receipts.py, or renumber to the head when merging.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('receipt_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('last >= 0', name=op.f('ck_receipt_counters_last_non_negative')),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_receipt_counters'))
    )
    op.create_table('receipts',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('order_id', Id, nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('method_detail', sa.String(length=40), nullable=True),
    sa.Column('line_id', Id, nullable=False),
    sa.Column('operator_name', sa.String(length=200), nullable=False),
    sa.Column('item_en', sa.String(length=200), nullable=False),
    sa.Column('item_zh', sa.String(length=200), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_receipts_amount_positive')),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_receipts_fee_non_negative')),
    sa.CheckConstraint('seq > 0', name=op.f('ck_receipts_seq_positive')),
    sa.CheckConstraint("number LIKE 'R%-%'", name=op.f('ck_receipts_number_format')),
    sa.CheckConstraint('method_detail IS NULL OR length(method_detail) <= 40', name=op.f('ck_receipts_method_detail_short')),
    sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_receipts_line_id_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_receipts_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('number', name=op.f('uq_receipts_number')),
    sa.UniqueConstraint('order_id', name=op.f('uq_receipts_order_id')),
    sa.UniqueConstraint('year', 'seq', name=op.f('uq_receipts_year_seq'))
    )


def downgrade() -> None:
    op.drop_table('receipts')
    op.drop_table('receipt_counters')
