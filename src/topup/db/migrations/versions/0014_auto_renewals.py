"""auto-renewals, reminders and job runs: one row per bucket that auto-renew took up (lease,
attempts, order), one per reminder sent, one per scheduled job run (job, slot)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 13:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'auto_renewals',
        sa.Column('bucket_id', Id, autoincrement=False, nullable=False),
        sa.Column('line_id', Id, nullable=False),
        sa.Column('plan_id', Id, nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', topup.db.metadata.UTCDateTime(), nullable=True),
        sa.Column('lease_until', topup.db.metadata.UTCDateTime(), nullable=True),
        sa.Column('order_id', Id, nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', topup.db.metadata.UTCDateTime(), nullable=False),
        sa.Column('updated_at', topup.db.metadata.UTCDateTime(), nullable=False),
        sa.CheckConstraint("state IN ('retry', 'running', 'renewed', 'given_up')",
                           name=op.f('ck_auto_renewals_state')),
        sa.CheckConstraint('attempts >= 0', name=op.f('ck_auto_renewals_attempts_non_negative')),
        sa.CheckConstraint("state <> 'running' OR lease_until IS NOT NULL",
                           name=op.f('ck_auto_renewals_leased')),
        sa.CheckConstraint("state <> 'renewed' OR order_id IS NOT NULL",
                           name=op.f('ck_auto_renewals_renewed_names_order')),
        sa.ForeignKeyConstraint(['line_id'], ['lines.id'],
                                name=op.f('fk_auto_renewals_line_id_lines')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_auto_renewals_order_id_orders')),
        sa.PrimaryKeyConstraint('bucket_id', name=op.f('pk_auto_renewals')),
    )
    op.create_index('ix_auto_renewals_due', 'auto_renewals', ['state', 'next_attempt_at'])
    op.create_table(
        'reminders_sent',
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('subject_id', Id, nullable=False),
        sa.Column('mark', sa.BigInteger(), nullable=False),
        sa.Column('line_id', Id, nullable=False),
        sa.Column('sent_at', topup.db.metadata.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['line_id'], ['lines.id'],
                                name=op.f('fk_reminders_sent_line_id_lines')),
        sa.PrimaryKeyConstraint('kind', 'subject_id', 'mark', name=op.f('pk_reminders_sent')),
    )
    op.create_table(
        'job_runs',
        sa.Column('job', sa.String(length=40), nullable=False),
        sa.Column('slot', sa.BigInteger(), nullable=False),
        sa.Column('worker', sa.String(length=80), nullable=False),
        sa.Column('started_at', topup.db.metadata.UTCDateTime(), nullable=False),
        sa.Column('finished_at', topup.db.metadata.UTCDateTime(), nullable=True),
        sa.Column('handled', sa.BigInteger(), nullable=True),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint('job', 'slot', name=op.f('pk_job_runs')),
    )


def downgrade() -> None:
    op.drop_table('job_runs')
    op.drop_table('reminders_sent')
    op.drop_index('ix_auto_renewals_due', table_name='auto_renewals')
    op.drop_table('auto_renewals')
