"""partitioned logs: usage records, the notification outbox, the audit log and order events
become range-partitioned by month on PostgreSQL (docs/partitioning.md); SQLite is unchanged

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 23:10:00.000000
"""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import op

from topup.db.partitions import PARTITIONED, convert, unconvert

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    now = datetime.now(UTC)
    for table in PARTITIONED:
        convert(conn, table, now)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table in reversed(list(PARTITIONED)):
        unconvert(conn, table)
