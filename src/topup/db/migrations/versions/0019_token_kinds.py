"""token kinds: a portal session's token is not an API bearer token

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('auth_tokens') as batch:
        batch.add_column(sa.Column('kind', sa.String(length=8), server_default='api',
                                   nullable=False))
        batch.create_check_constraint(op.f('ck_auth_tokens_kind'), "kind IN ('api', 'web')")
    # Tokens already behind a portal session become web tokens, so they stop working as
    # API bearer tokens at once.
    op.execute("UPDATE auth_tokens SET kind = 'web' WHERE token_hash IN "
               "(SELECT token_hash FROM web_sessions)")


def downgrade() -> None:
    with op.batch_alter_table('auth_tokens') as batch:
        batch.drop_constraint(op.f('ck_auth_tokens_kind'), type_='check')
        batch.drop_column('kind')
