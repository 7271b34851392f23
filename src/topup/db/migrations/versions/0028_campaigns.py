"""campaigns: promotions, their promo codes and redemptions

``campaigns`` (a kind, a window, a rule and a scope as JSON, limits and a budget with the
counters that spend them), ``promo_codes`` (unique, in capitals, each with its own limit) and
``redemptions`` (one per order and campaign: held while the order is paid, applied, released
when it fails, credited when cashback is paid, reversed by a refund).

Revision ID: 0028
Revises: 0026
Create Date: 2026-12-05 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0028'
down_revision = '0026'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = topup.db.metadata.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'campaigns',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('starts_at', When(), nullable=False),
        sa.Column('ends_at', When(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=True),
        sa.Column('rule', sa.JSON(), nullable=False),
        sa.Column('scope', sa.JSON(), nullable=False),
        sa.Column('total_limit', sa.Integer(), nullable=True),
        sa.Column('per_customer_limit', sa.Integer(), nullable=True),
        sa.Column('budget', sa.BigInteger(), nullable=True),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('spent', sa.BigInteger(), nullable=False),
        sa.Column('frees_code_on_refund', sa.Boolean(), nullable=False),
        sa.Column('created_by', Id, nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.Column('updated_at', When(), nullable=False),
        sa.CheckConstraint("kind IN ('discount', 'spend_save', 'code', 'bonus', 'cashback')",
                           name=op.f('ck_campaigns_kind')),
        sa.CheckConstraint("state IN ('active', 'paused', 'ended')",
                           name=op.f('ck_campaigns_state')),
        sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaigns_window')),
        sa.CheckConstraint('uses >= 0 AND (total_limit IS NULL OR uses <= total_limit)',
                           name=op.f('ck_campaigns_uses_within_limit')),
        sa.CheckConstraint('spent >= 0 AND (budget IS NULL OR spent <= budget)',
                           name=op.f('ck_campaigns_spent_within_budget')),
        sa.CheckConstraint('budget IS NULL OR currency IS NOT NULL',
                           name=op.f('ck_campaigns_budget_has_currency')),
        sa.CheckConstraint('(total_limit IS NULL OR total_limit > 0) AND '
                           '(per_customer_limit IS NULL OR per_customer_limit > 0)',
                           name=op.f('ck_campaigns_limits_positive')),
        sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                                name=op.f('fk_campaigns_created_by_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns')),
    )
    op.create_index('ix_campaigns_live', 'campaigns', ['state', 'ends_at'])
    op.create_table(
        'promo_codes',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('campaign_id', Id, nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('max_uses', sa.Integer(), nullable=True),
        sa.Column('uses', sa.Integer(), nullable=False),
        sa.Column('created_at', When(), nullable=False),
        sa.CheckConstraint('code = upper(code) AND length(code) >= 4',
                           name=op.f('ck_promo_codes_code_form')),
        sa.CheckConstraint('uses >= 0 AND (max_uses IS NULL OR (max_uses > 0 AND '
                           'uses <= max_uses))', name=op.f('ck_promo_codes_uses_within_limit')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_promo_codes_campaign_id_campaigns')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_promo_codes')),
        sa.UniqueConstraint('code', name=op.f('uq_promo_codes_code')),
    )
    op.create_index('ix_promo_codes_campaign', 'promo_codes', ['campaign_id', 'id'])
    op.create_table(
        'redemptions',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('campaign_id', Id, nullable=False),
        sa.Column('code_id', Id, nullable=True),
        sa.Column('order_id', Id, nullable=False),
        sa.Column('customer_id', Id, nullable=True),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('created_at', When(), nullable=False),
        sa.Column('updated_at', When(), nullable=False),
        sa.CheckConstraint("state IN ('held', 'applied', 'credited', 'released', 'reversed')",
                           name=op.f('ck_redemptions_state')),
        sa.CheckConstraint('amount >= 0', name=op.f('ck_redemptions_amount_non_negative')),
        sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'],
                                name=op.f('fk_redemptions_campaign_id_campaigns')),
        sa.ForeignKeyConstraint(['code_id'], ['promo_codes.id'],
                                name=op.f('fk_redemptions_code_id_promo_codes')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_redemptions_order_id_orders')),
        sa.ForeignKeyConstraint(['customer_id'], ['users.id'],
                                name=op.f('fk_redemptions_customer_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_redemptions')),
        sa.UniqueConstraint('order_id', 'campaign_id',
                            name=op.f('uq_redemptions_order_campaign')),
    )
    op.create_index('ix_redemptions_customer', 'redemptions',
                    ['campaign_id', 'customer_id', 'state'])


def downgrade() -> None:
    op.drop_table('redemptions')
    op.drop_table('promo_codes')
    op.drop_table('campaigns')
