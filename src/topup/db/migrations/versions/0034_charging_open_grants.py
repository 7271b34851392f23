"""charging: a session counts what it has used (``used_data``, ``used_voice``, ``used_sms``),
and only open grants are indexed by session (``ix_charging_grants_held``, partial)

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-06 07:30:00.000000

The index on every grant by (session, state) took a change on its session's page at every
request (a new grant in, the closed one moved); it served two reads: a session's open grants
(the partial index serves them now) and what a live session has used so far (the counters
now, kept as each grant closes). The counters start at what the closed grants used.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0034'
down_revision = '0033'
branch_labels = None
depends_on = None

UNITS = ("data", "voice", "sms")  # as the grants' CHECK names them
HELD = sa.text("state = 'held'")


def upgrade() -> None:
    for unit in UNITS:
        op.add_column('charging_sessions', sa.Column(
            f'used_{unit}', sa.BigInteger(), nullable=False, server_default='0'))
    # while the old index still finds each session's grants
    for unit in UNITS:
        op.execute(sa.text(
            f"UPDATE charging_sessions SET used_{unit} = COALESCE(("  # noqa: S608 (a constant)
            "SELECT SUM(g.used) FROM charging_grants g WHERE g.session_id = charging_sessions.id"
            f" AND g.state = 'closed' AND g.unit = '{unit}'), 0)"))
    op.drop_index('ix_charging_grants_session', table_name='charging_grants')
    op.create_index('ix_charging_grants_held', 'charging_grants', ['session_id'],
                    postgresql_where=HELD, sqlite_where=HELD)


def downgrade() -> None:
    op.drop_index('ix_charging_grants_held', table_name='charging_grants')
    op.create_index('ix_charging_grants_session', 'charging_grants', ['session_id', 'state'])
    for unit in reversed(UNITS):
        op.drop_column('charging_sessions', f'used_{unit}')
