"""charging sessions: online charging reserves before use

A gateway's session (``charging_sessions``) asks for units per rating group; each answer is a
grant (``charging_grants``) backed by holds (``charging_holds``): pending ledger transfers from
the line's buckets, then its wallet at the out-of-bundle rate. A request number answered once
(``charging_requests``) is answered the same way again.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 10:01:50.075226
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('charging_sessions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('updated_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('expires_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('starved', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('peer_host', sa.String(length=255), nullable=True),
    sa.Column('peer_realm', sa.String(length=255), nullable=True),
    sa.Column('reauth_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.CheckConstraint("state IN ('open', 'closed', 'expired')", name=op.f('ck_charging_sessions_state')),
    sa.CheckConstraint('last_number >= 0', name=op.f('ck_charging_sessions_number_non_negative')),
    sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_charging_sessions_line_id_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_sessions')),
    sa.UniqueConstraint('ref', name=op.f('uq_charging_sessions_ref'))
    )
    with op.batch_alter_table('charging_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_charging_sessions_line', ['line_id', 'state'], unique=False)
        batch_op.create_index('ix_charging_sessions_open', ['state', 'expires_at'], unique=False)
        batch_op.create_index('ix_charging_sessions_starved', ['state', 'starved'], unique=False)

    op.create_table('charging_grants',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rating_group', sa.BigInteger(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('granted', sa.BigInteger(), nullable=False),
    sa.Column('used', sa.BigInteger(), nullable=True),
    sa.Column('final', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('valid_until', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.Column('closed_at', topup.db.metadata.UTCDateTime(), nullable=True),
    sa.CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)", name=op.f('ck_charging_grants_closed_at')),
    sa.CheckConstraint("state IN ('held', 'closed')", name=op.f('ck_charging_grants_state')),
    sa.CheckConstraint("unit IN ('data', 'voice', 'sms')", name=op.f('ck_charging_grants_unit')),
    sa.CheckConstraint('granted >= 0 AND (used IS NULL OR used >= 0)', name=op.f('ck_charging_grants_non_negative')),
    sa.ForeignKeyConstraint(['session_id'], ['charging_sessions.id'], name=op.f('fk_charging_grants_session_id_charging_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_grants'))
    )
    with op.batch_alter_table('charging_grants', schema=None) as batch_op:
        batch_op.create_index('ix_charging_grants_session', ['session_id', 'state'], unique=False)

    op.create_table('charging_requests',
    sa.Column('session_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('answer', sa.JSON(), nullable=False),
    sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['charging_sessions.id'], name=op.f('fk_charging_requests_session_id_charging_sessions')),
    sa.PrimaryKeyConstraint('session_id', 'number', name=op.f('pk_charging_requests'))
    )
    op.create_table('charging_holds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('grant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('transfer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bucket_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('rate', sa.BigInteger(), nullable=True),
    sa.Column('per', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('(bucket_id IS NULL) = (rate IS NOT NULL) AND (rate IS NULL) = (per IS NULL)', name=op.f('ck_charging_holds_source')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_charging_holds_quantity_positive')),
    sa.ForeignKeyConstraint(['bucket_id'], ['buckets.id'], name=op.f('fk_charging_holds_bucket_id_buckets')),
    sa.ForeignKeyConstraint(['grant_id'], ['charging_grants.id'], name=op.f('fk_charging_holds_grant_id_charging_grants')),
    sa.ForeignKeyConstraint(['transfer_id'], ['ledger_transfers.id'], name=op.f('fk_charging_holds_transfer_id_ledger_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_charging_holds')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_charging_holds_transfer_id'))
    )
    with op.batch_alter_table('charging_holds', schema=None) as batch_op:
        batch_op.create_index('ix_charging_holds_grant', ['grant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('charging_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_charging_holds_grant')

    op.drop_table('charging_holds')
    op.drop_table('charging_requests')
    with op.batch_alter_table('charging_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_charging_grants_session')

    op.drop_table('charging_grants')
    with op.batch_alter_table('charging_sessions', schema=None) as batch_op:
        batch_op.drop_index('ix_charging_sessions_starved')
        batch_op.drop_index('ix_charging_sessions_open')
        batch_op.drop_index('ix_charging_sessions_line')

    op.drop_table('charging_sessions')
