"""agents and terminals: commission tiers, agents, staff links, terminals and their nonces,
sales, KYC records (masked number and keyed hash only)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 12:00:00.000000

Depends only on tables of 0001-0010 (users, lines, orders); the float lives in the ledger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('commission_tiers',
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('topup_bp', sa.Integer(), nullable=False),
    sa.Column('voucher_bp', sa.Integer(), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('updated_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.CheckConstraint('topup_bp >= 0 AND topup_bp <= 10000', name=op.f('ck_commission_tiers_topup_bp_range')),
    sa.CheckConstraint('voucher_bp >= 0 AND voucher_bp <= 10000', name=op.f('ck_commission_tiers_voucher_bp_range')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_commission_tiers'))
    )
    op.create_table('agents',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', Id, nullable=True),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('state_changed_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('chain', 'store', 'dealer', 'post_office', 'kiosk_operator')", name=op.f('ck_agents_kind')),
    sa.CheckConstraint("state IN ('active', 'suspended')", name=op.f('ck_agents_state')),
    sa.CheckConstraint('parent_id IS NULL OR parent_id <> id', name=op.f('ck_agents_not_own_parent')),
    sa.ForeignKeyConstraint(['parent_id'], ['agents.id'], name=op.f('fk_agents_parent_id_agents')),
    sa.ForeignKeyConstraint(['tier'], ['commission_tiers.code'], name=op.f('fk_agents_tier_commission_tiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agents'))
    )
    op.create_index(op.f('ix_agents_parent_id'), 'agents', ['parent_id'], unique=False)
    op.create_table('agent_staff',
    sa.Column('user_id', Id, autoincrement=False, nullable=False),
    sa.Column('agent_id', Id, nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_staff_agent_id_agents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_staff_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_agent_staff'))
    )
    op.create_index(op.f('ix_agent_staff_agent_id'), 'agent_staff', ['agent_id'], unique=False)
    op.create_table('agent_terminals',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('agent_id', Id, nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('state_changed_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('active', 'disabled')", name=op.f('ck_agent_terminals_state')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_terminals_agent_id_agents')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_agent_terminals_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_terminals')),
    sa.UniqueConstraint('key_id', name=op.f('uq_agent_terminals_key_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_agent_terminals_user_id'))
    )
    op.create_index(op.f('ix_agent_terminals_agent_id'), 'agent_terminals', ['agent_id'], unique=False)
    op.create_table('agent_sales',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('agent_id', Id, nullable=False),
    sa.Column('terminal_id', Id, nullable=True),
    sa.Column('actor_id', Id, nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('order_id', Id, nullable=True),
    sa.Column('voucher_serial', sa.String(length=64), nullable=True),
    sa.Column('line_id', Id, nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('commission', sa.BigInteger(), nullable=False),
    sa.Column('tender', sa.String(length=8), nullable=True),
    sa.Column('ledger_ref', sa.String(length=80), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'topup') = (order_id IS NOT NULL)", name=op.f('ck_agent_sales_order_link')),
    sa.CheckConstraint("(kind = 'voucher') = (voucher_serial IS NOT NULL)", name=op.f('ck_agent_sales_voucher_link')),
    sa.CheckConstraint("kind IN ('topup', 'voucher')", name=op.f('ck_agent_sales_kind')),
    sa.CheckConstraint("tender IS NULL OR tender IN ('cash', 'card')", name=op.f('ck_agent_sales_tender')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_agent_sales_amount_positive')),
    sa.CheckConstraint('commission >= 0', name=op.f('ck_agent_sales_commission_non_negative')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_agent_sales_actor_id_users')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_sales_agent_id_agents')),
    sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_agent_sales_line_id_lines')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_agent_sales_order_id_orders')),
    sa.ForeignKeyConstraint(['terminal_id'], ['agent_terminals.id'], name=op.f('fk_agent_sales_terminal_id_agent_terminals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_sales')),
    sa.UniqueConstraint('order_id', name=op.f('uq_agent_sales_order_id')),
    sa.UniqueConstraint('voucher_serial', name=op.f('uq_agent_sales_voucher_serial'))
    )
    op.create_index('ix_agent_sales_agent', 'agent_sales', ['agent_id', 'created_at'], unique=False)
    op.create_index('ix_agent_sales_terminal', 'agent_sales', ['terminal_id', 'created_at'], unique=False)
    op.create_table('terminal_nonces',
    sa.Column('terminal_id', Id, nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('expires_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['terminal_id'], ['agent_terminals.id'], name=op.f('fk_terminal_nonces_terminal_id_agent_terminals')),
    sa.PrimaryKeyConstraint('terminal_id', 'nonce', name=op.f('pk_terminal_nonces'))
    )
    op.create_index('ix_terminal_nonces_expires', 'terminal_nonces', ['expires_at'], unique=False)
    op.create_table('agent_kyc_records',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('sale_id', Id, nullable=False),
    sa.Column('agent_id', Id, nullable=False),
    sa.Column('line_id', Id, nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('id_type', sa.String(length=20), nullable=False),
    sa.Column('id_masked', sa.String(length=12), nullable=False),
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.CheckConstraint("id_masked LIKE '****%'", name=op.f('ck_agent_kyc_records_masked')),
    sa.CheckConstraint("id_type IN ('passport', 'national_id', 'residence_permit', 'driving_licence')", name=op.f('ck_agent_kyc_records_id_type')),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], name=op.f('fk_agent_kyc_records_agent_id_agents')),
    sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_agent_kyc_records_line_id_lines')),
    sa.ForeignKeyConstraint(['sale_id'], ['agent_sales.id'], name=op.f('fk_agent_kyc_records_sale_id_agent_sales')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_kyc_records')),
    sa.UniqueConstraint('sale_id', name=op.f('uq_agent_kyc_records_sale_id'))
    )
    op.create_index(op.f('ix_agent_kyc_records_agent_id'), 'agent_kyc_records', ['agent_id'], unique=False)
    op.create_index(op.f('ix_agent_kyc_records_id_hash'), 'agent_kyc_records', ['id_hash'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_agent_kyc_records_id_hash'), table_name='agent_kyc_records')
    op.drop_index(op.f('ix_agent_kyc_records_agent_id'), table_name='agent_kyc_records')
    op.drop_table('agent_kyc_records')
    op.drop_index('ix_terminal_nonces_expires', table_name='terminal_nonces')
    op.drop_table('terminal_nonces')
    op.drop_index('ix_agent_sales_terminal', table_name='agent_sales')
    op.drop_index('ix_agent_sales_agent', table_name='agent_sales')
    op.drop_table('agent_sales')
    op.drop_index(op.f('ix_agent_terminals_agent_id'), table_name='agent_terminals')
    op.drop_table('agent_terminals')
    op.drop_index(op.f('ix_agent_staff_agent_id'), table_name='agent_staff')
    op.drop_table('agent_staff')
    op.drop_index(op.f('ix_agents_parent_id'), table_name='agents')
    op.drop_table('agents')
    op.drop_table('commission_tiers')
