"""notification delivery: the outbox's lease, back-off, errors, receipts and customer; the
parts providers accepted; customers' notification preferences

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 14:00:00.000000

Rows queued before this revision become due at once (``next_attempt_at = created_at``); none
can be ``sending`` (nothing delivered them), but any that were go back to ``queued``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
UTC = topup.db.metadata.UTCDateTime
DELIVERY_STATES = ("('SUBMITTED', 'ENROUTE', 'DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', "
                   "'ACCEPTD', 'UNKNOWN', 'REJECTD')")


def _outbox_columns() -> None:
    with op.batch_alter_table('notification_outbox') as batch:
        batch.add_column(sa.Column('next_attempt_at', UTC(), nullable=True))
        batch.add_column(sa.Column('claimed_by', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('claimed_until', UTC(), nullable=True))
        batch.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('provider_message_id', sa.String(length=200), nullable=True))
        batch.add_column(sa.Column('delivery_state', sa.String(length=12), nullable=True))
        batch.add_column(sa.Column('delivery_reported_at', UTC(), nullable=True))
        batch.add_column(sa.Column('user_id', Id, nullable=True))
        batch.add_column(sa.Column('quiet', sa.Boolean(), nullable=True))
    op.execute("UPDATE notification_outbox SET next_attempt_at = created_at, quiet = false, "
               "state = CASE WHEN state = 'sending' THEN 'queued' ELSE state END")
    with op.batch_alter_table('notification_outbox') as batch:
        batch.alter_column('next_attempt_at', existing_type=UTC(), nullable=False)
        batch.alter_column('quiet', existing_type=sa.Boolean(), nullable=False)
        batch.create_foreign_key(op.f('fk_notification_outbox_user_id_users'), 'users',
                                 ['user_id'], ['id'])
        batch.create_check_constraint(op.f('ck_notification_outbox_attempts_non_negative'),
                                      'attempts >= 0')
        batch.create_check_constraint(op.f('ck_notification_outbox_lease'),
                                      "(state = 'sending') = (claimed_until IS NOT NULL)")
        batch.create_check_constraint(
            op.f('ck_notification_outbox_delivery_state'),
            f"delivery_state IS NULL OR delivery_state IN {DELIVERY_STATES}")
        batch.create_index('ix_notification_outbox_due', ['state', 'next_attempt_at'],
                           unique=False)
        batch.create_index('ix_notification_outbox_recipient', ['recipient', 'id'],
                           unique=False)


def upgrade() -> None:
    _outbox_columns()
    op.create_table('notification_submissions',
    sa.Column('id', Id, autoincrement=True, nullable=False),
    sa.Column('outbox_id', Id, nullable=False),
    sa.Column('part', sa.Integer(), nullable=False),
    sa.Column('parts', sa.Integer(), nullable=False),
    sa.Column('provider_message_id', sa.String(length=200), nullable=False),
    sa.Column('delivery_state', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.String(length=8), nullable=True),
    sa.Column('submitted_at', UTC(), nullable=False),
    sa.Column('reported_at', UTC(), nullable=True),
    sa.CheckConstraint('part >= 1 AND part <= parts',
                       name=op.f('ck_notification_submissions_part_in_range')),
    sa.CheckConstraint(f"delivery_state IN {DELIVERY_STATES}",
                       name=op.f('ck_notification_submissions_delivery_state')),
    sa.ForeignKeyConstraint(['outbox_id'], ['notification_outbox.id'],
                            name=op.f('fk_notification_submissions_outbox_id_notification_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_submissions')),
    sa.UniqueConstraint('outbox_id', 'part',
                        name=op.f('uq_notification_submissions_outbox_id_part'))
    )
    op.create_index('ix_notification_submissions_provider_id', 'notification_submissions',
                    ['provider_message_id'], unique=False)
    op.create_table('notification_preferences',
    sa.Column('user_id', Id, autoincrement=False, nullable=False),
    sa.Column('email_enabled', sa.Boolean(), nullable=False),
    sa.Column('sms_enabled', sa.Boolean(), nullable=False),
    sa.Column('quiet_start', sa.Integer(), nullable=True),
    sa.Column('quiet_end', sa.Integer(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', UTC(), nullable=False),
    sa.CheckConstraint('(quiet_start IS NULL) = (quiet_end IS NULL)',
                       name=op.f('ck_notification_preferences_quiet_pair')),
    sa.CheckConstraint('quiet_start IS NULL OR (quiet_start >= 0 AND quiet_start < 1440 AND '
                       'quiet_end >= 0 AND quiet_end < 1440 AND quiet_start <> quiet_end)',
                       name=op.f('ck_notification_preferences_quiet_range')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                            name=op.f('fk_notification_preferences_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_preferences'))
    )


def downgrade() -> None:
    op.drop_table('notification_preferences')
    op.drop_index('ix_notification_submissions_provider_id',
                  table_name='notification_submissions')
    op.drop_table('notification_submissions')
    with op.batch_alter_table('notification_outbox') as batch:
        batch.drop_index('ix_notification_outbox_recipient')
        batch.drop_index('ix_notification_outbox_due')
        batch.drop_constraint(op.f('ck_notification_outbox_delivery_state'), type_='check')
        batch.drop_constraint(op.f('ck_notification_outbox_lease'), type_='check')
        batch.drop_constraint(op.f('ck_notification_outbox_attempts_non_negative'),
                              type_='check')
        batch.drop_constraint(op.f('fk_notification_outbox_user_id_users'),
                              type_='foreignkey')
        for column in ('quiet', 'user_id', 'delivery_reported_at', 'delivery_state',
                       'provider_message_id', 'last_error', 'claimed_until', 'claimed_by',
                       'next_attempt_at'):
            batch.drop_column(column)
