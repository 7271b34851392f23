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

# One row per scheduled run: the job's name and the start of its time slot (its interval
# since the epoch). Whoever inserts the row runs the job for that slot; every other worker
# finds it there and skips: across any number of workers a job runs once per slot.
job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(40), nullable=False),
    Column("slot", BigInteger, nullable=False),
    Column("worker", String(80), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("handled", BigInteger, nullable=True),
    Column("error", String(300), nullable=True),
    PrimaryKeyConstraint("job", "slot"),
)
