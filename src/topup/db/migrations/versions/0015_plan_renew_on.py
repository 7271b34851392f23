"""plans say when auto-renew buys them again: at their end, or once their data is used up

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.add_column(sa.Column('renew_on', sa.String(length=10), nullable=False,
                                   server_default='expiry'))
        batch.create_check_constraint(op.f('ck_plans_renew_on'),
                                      "renew_on IN ('expiry', 'data_out')")


def downgrade() -> None:
    with op.batch_alter_table('plans') as batch:
        batch.drop_constraint(op.f('ck_plans_renew_on'), type_='check')
        batch.drop_column('renew_on')
