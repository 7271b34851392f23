"""web sessions: the portal's signed-in browsers (token hash, idle and absolute expiry)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', Id, nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('last_seen_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('expires_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.CheckConstraint('length(token_hash) = 64', name=op.f('ck_web_sessions_token_hash_sha256')),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_web_sessions_expires_after_creation')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash'))
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
