"""support tickets: a traveller's questions, staff answers and internal notes

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 20:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import topup.db.metadata

revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
When = topup.db.metadata.UTCDateTime


def upgrade() -> None:
    op.create_table(
        'tickets',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('customer_id', Id, nullable=True),
        sa.Column('line_id', Id, nullable=True),
        sa.Column('order_id', Id, nullable=True),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('state', sa.String(length=10), nullable=False),
        sa.Column('source', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('assignee_id', Id, nullable=True),
        sa.Column('auto_key', sa.String(length=64), nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.Column('updated_at', When(), nullable=False),
        sa.Column('first_response_at', When(), nullable=True),
        sa.Column('closed_at', When(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'waiting', 'closed')",
                           name=op.f('ck_tickets_state')),
        sa.CheckConstraint("source IN ('portal', 'api', 'email', 'auto')",
                           name=op.f('ck_tickets_source')),
        sa.CheckConstraint("(state = 'closed') = (closed_at IS NOT NULL)",
                           name=op.f('ck_tickets_closed_when')),
        sa.ForeignKeyConstraint(['customer_id'], ['users.id'],
                                name=op.f('fk_tickets_customer_id_users')),
        sa.ForeignKeyConstraint(['line_id'], ['lines.id'], name=op.f('fk_tickets_line_id_lines')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'],
                                name=op.f('fk_tickets_order_id_orders')),
        sa.ForeignKeyConstraint(['assignee_id'], ['users.id'],
                                name=op.f('fk_tickets_assignee_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
        sa.UniqueConstraint('auto_key', name=op.f('uq_tickets_auto_key')),
    )
    op.create_index('ix_tickets_queue', 'tickets', ['state', 'created_at'])
    op.create_index('ix_tickets_customer', 'tickets', ['customer_id', 'id'])
    op.create_table(
        'ticket_messages',
        sa.Column('id', Id, autoincrement=True, nullable=False),
        sa.Column('ticket_id', Id, nullable=False),
        sa.Column('author_id', Id, nullable=True),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('email_id', sa.String(length=255), nullable=True),
        sa.Column('created_at', When(), nullable=False),
        sa.CheckConstraint("kind IN ('customer', 'staff', 'note', 'system')",
                           name=op.f('ck_ticket_messages_kind')),
        sa.CheckConstraint("via IN ('portal', 'api', 'email', 'console', 'system')",
                           name=op.f('ck_ticket_messages_via')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'],
                                name=op.f('fk_ticket_messages_ticket_id_tickets')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_ticket_messages_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_messages')),
        sa.UniqueConstraint('email_id', name=op.f('uq_ticket_messages_email_id')),
    )
    op.create_index('ix_ticket_messages_ticket', 'ticket_messages', ['ticket_id', 'id'])


def downgrade() -> None:
    op.drop_table('ticket_messages')
    op.drop_table('tickets')
