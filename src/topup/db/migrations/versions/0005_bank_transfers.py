"""bank transfers: statement entries and the finance review queue

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('bank_statement_entries',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('entry_ref', sa.String(length=140), nullable=False),
    sa.Column('statement_id', sa.String(length=140), nullable=True),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('reference', sa.String(length=35), nullable=True),
    sa.Column('remittance', sa.String(length=500), nullable=True),
    sa.Column('payer_name', sa.String(length=140), nullable=True),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('matched_by', sa.String(length=10), nullable=True),
    sa.Column('order_id', Id, nullable=True),
    sa.Column('order_ref', sa.String(length=35), nullable=True),
    sa.Column('imported_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.CheckConstraint("format IN ('camt053', 'csv')", name=op.f('ck_bank_statement_entries_format')),
    sa.CheckConstraint("matched_by IS NULL OR matched_by IN ('reference', 'amount', 'finance')", name=op.f('ck_bank_statement_entries_matched_by')),
    sa.CheckConstraint("outcome <> 'credited' OR (order_id IS NOT NULL AND order_ref IS NOT NULL AND matched_by IS NOT NULL)", name=op.f('ck_bank_statement_entries_credited_names_order')),
    sa.CheckConstraint("outcome IN ('credited', 'review')", name=op.f('ck_bank_statement_entries_outcome')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_bank_statement_entries_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_bank_statement_entries_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_statement_entries')),
    sa.UniqueConstraint('entry_ref', name=op.f('uq_bank_statement_entries_entry_ref'))
    )
    op.create_index('ix_bank_statement_entries_order_ref', 'bank_statement_entries', ['order_ref', 'outcome'], unique=False)
    op.create_table('bank_review_items',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('entry_id', Id, nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('order_id', Id, nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('resolved_by', Id, nullable=True),
    sa.Column('resolved_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.CheckConstraint("(state = 'open') = (resolved_at IS NULL)", name=op.f('ck_bank_review_items_resolved_when_closed')),
    sa.CheckConstraint("reason IN ('partial', 'overpaid', 'duplicate', 'currency_mismatch', 'unmatched', 'order_not_awaiting')", name=op.f('ck_bank_review_items_reason')),
    sa.CheckConstraint("state <> 'credited' OR order_id IS NOT NULL", name=op.f('ck_bank_review_items_credit_names_order')),
    sa.CheckConstraint("state = 'open' OR (resolved_by IS NOT NULL AND note IS NOT NULL)", name=op.f('ck_bank_review_items_resolution_recorded')),
    sa.CheckConstraint("state IN ('open', 'credited', 'dismissed')", name=op.f('ck_bank_review_items_state')),
    sa.ForeignKeyConstraint(['entry_id'], ['bank_statement_entries.id'], name=op.f('fk_bank_review_items_entry_id_bank_statement_entries')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_bank_review_items_order_id_orders')),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_bank_review_items_resolved_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bank_review_items')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_bank_review_items_entry_id'))
    )
    op.create_index('ix_bank_review_items_state', 'bank_review_items', ['state', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bank_review_items_state', table_name='bank_review_items')
    op.drop_table('bank_review_items')
    op.drop_index('ix_bank_statement_entries_order_ref', table_name='bank_statement_entries')
    op.drop_table('bank_statement_entries')
