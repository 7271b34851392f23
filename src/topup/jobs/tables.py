"""What the scheduled jobs remember: reminders already sent."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, PrimaryKeyConstraint, String, Table

from topup.db.metadata import UTCDateTime, metadata
from topup.ledger.tables import Id

# One row per reminder sent: its kind (expiry_3d, data_80…), what it was about (a bucket, a
# wallet account) and a mark that starts a new round (a wallet's credits: a top-up re-arms the
# low-balance reminder). The key makes each reminder go out once.
reminders_sent = Table(
    "reminders_sent",
    metadata,
    Column("kind", String(20), nullable=False),
    Column("subject_id", Id, nullable=False),
    Column("mark", BigInteger, nullable=False),
    Column("line_id", Id, ForeignKey("lines.id"), nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("kind", "subject_id", "mark"),
)
