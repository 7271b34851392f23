"""staff roles: support and finance logins beside admin

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 09:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

BEFORE = "('customer', 'agent', 'terminal', 'network', 'admin')"
AFTER = "('customer', 'agent', 'terminal', 'network', 'admin', 'support', 'finance')"


def _roles(allowed: str) -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_constraint(op.f('ck_users_role'), type_='check')
        batch.create_check_constraint(op.f('ck_users_role'), f"role IN {allowed}")


def upgrade() -> None:
    _roles(AFTER)


def downgrade() -> None:
    op.execute("UPDATE users SET disabled = true WHERE role IN ('support', 'finance')")
    op.execute("UPDATE users SET role = 'customer' WHERE role IN ('support', 'finance')")
    _roles(BEFORE)
