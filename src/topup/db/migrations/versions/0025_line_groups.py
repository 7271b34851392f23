"""line groups: a customer's lines share the plans bought for the group

``line_groups`` (a customer's named group) and ``line_group_members`` (one row per stay of a
line in a group, with an optional data cap; a line is in at most one group at a time); a
bucket may belong to a group (``buckets.group_id``: every member draws on it, ``line_id``
stays the buyer's for the books), and an order may buy its plan for one
(``orders.group_id``); ``group_member_use`` counts what each member drew from each shared
bucket. On SQLite the column is added to ``orders`` in place (a batch copy would drop the
table's immutability triggers).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
LIVE = sa.text('left_at IS NULL')
SHARED = sa.text('group_id IS NOT NULL')
# the order terms' trigger helper (0006) and the terms 0007 left; the group joins them
FX = importlib.import_module('topup.db.migrations.versions.0007_fx_topups')
TERMS = (*FX.FX_TERMS, 'group_id')
GROUP_CHECK = "group_id IS NULL OR kind = 'plan'"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def upgrade() -> None:
    op.create_table(
        'line_groups',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('owner_id', Id, nullable=False),
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
        sa.CheckConstraint('length(name) > 0', name=op.f('ck_line_groups_name_given')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'],
                                name=op.f('fk_line_groups_owner_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_line_groups')),
    )
    op.create_index('ix_line_groups_owner', 'line_groups', ['owner_id', 'id'])
    op.create_table(
        'line_group_members',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('group_id', Id, nullable=False),
        sa.Column('line_id', Id, nullable=False),
        sa.Column('cap_bytes', sa.BigInteger(), nullable=True),
        sa.Column('joined_at', topup.db.metadata.UTCDateTime(), nullable=False),
        sa.Column('left_at', topup.db.metadata.UTCDateTime(), nullable=True),
        sa.CheckConstraint('cap_bytes IS NULL OR cap_bytes >= 0',
                           name=op.f('ck_line_group_members_cap_non_negative')),
        sa.CheckConstraint('left_at IS NULL OR left_at >= joined_at',
                           name=op.f('ck_line_group_members_left_after_joined')),
        sa.ForeignKeyConstraint(['group_id'], ['line_groups.id'],
                                name=op.f('fk_line_group_members_group_id_line_groups')),
        sa.ForeignKeyConstraint(['line_id'], ['lines.id'],
                                name=op.f('fk_line_group_members_line_id_lines')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_line_group_members')),
    )
    op.create_index('ix_line_group_members_group', 'line_group_members',
                    ['group_id', 'left_at'])
    op.create_index('uq_line_group_members_live', 'line_group_members', ['line_id'],
                    unique=True, postgresql_where=LIVE, sqlite_where=LIVE)
    with op.batch_alter_table('buckets') as batch:
        batch.add_column(sa.Column('group_id', Id, nullable=True))
        batch.create_foreign_key(op.f('fk_buckets_group_id_line_groups'), 'line_groups',
                                 ['group_id'], ['id'])
    op.create_index('ix_buckets_group_id', 'buckets', ['group_id', 'state'],
                    postgresql_where=SHARED, sqlite_where=SHARED)
    op.create_table(
        'group_member_use',
        sa.Column('bucket_id', Id, nullable=False),
        sa.Column('line_id', Id, nullable=False),
        sa.Column('unit', sa.String(length=16), nullable=False),
        sa.Column('used', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('used >= 0', name=op.f('ck_group_member_use_used_non_negative')),
        sa.CheckConstraint("unit IN ('data', 'voice', 'sms')",
                           name=op.f('ck_group_member_use_unit')),
        sa.ForeignKeyConstraint(['bucket_id'], ['buckets.id'],
                                name=op.f('fk_group_member_use_bucket_id_buckets')),
        sa.ForeignKeyConstraint(['line_id'], ['lines.id'],
                                name=op.f('fk_group_member_use_line_id_lines')),
        sa.PrimaryKeyConstraint('bucket_id', 'line_id', 'unit',
                                name=op.f('pk_group_member_use')),
    )
    _order_group()


def _order_group() -> None:
    """``orders.group_id``, one of a submitted order's immutable terms."""
    if _sqlite():
        # in place: a batch copy of ``orders`` would drop its immutability triggers
        op.execute('ALTER TABLE orders ADD COLUMN group_id INTEGER '
                   'CONSTRAINT fk_orders_group_id_line_groups REFERENCES line_groups (id) '
                   f'CONSTRAINT ck_orders_group_buys_plans CHECK ({GROUP_CHECK})')
    else:
        op.add_column('orders', sa.Column('group_id', Id, nullable=True))
        op.create_foreign_key(op.f('fk_orders_group_id_line_groups'), 'orders', 'line_groups',
                              ['group_id'], ['id'])
        op.create_check_constraint(op.f('ck_orders_group_buys_plans'), 'orders', GROUP_CHECK)
    FX.fees._trigger(TERMS)


def downgrade() -> None:
    FX.fees._trigger(FX.FX_TERMS)  # the terms without the group, before its column goes
    if _sqlite():
        # SQLite drops a referencing column only by copying the table, which drops the
        # triggers: they are made again after it
        with op.batch_alter_table('orders', recreate='always') as batch:
            batch.drop_constraint(op.f('ck_orders_group_buys_plans'), type_='check')
            batch.drop_column('group_id')  # its (unnamed, on SQLite) reference with it
        FX.fees._trigger(FX.FX_TERMS)
    else:
        op.drop_constraint(op.f('ck_orders_group_buys_plans'), 'orders', type_='check')
        op.drop_constraint(op.f('fk_orders_group_id_line_groups'), 'orders', type_='foreignkey')
        op.drop_column('orders', 'group_id')
    op.drop_table('group_member_use')
    op.drop_index('ix_buckets_group_id', table_name='buckets')
    with op.batch_alter_table('buckets') as batch:
        batch.drop_constraint(op.f('fk_buckets_group_id_line_groups'), type_='foreignkey')
        batch.drop_column('group_id')
    op.drop_index('uq_line_group_members_live', table_name='line_group_members')
    op.drop_index('ix_line_group_members_group', table_name='line_group_members')
    op.drop_table('line_group_members')
    op.drop_index('ix_line_groups_owner', table_name='line_groups')
    op.drop_table('line_groups')
