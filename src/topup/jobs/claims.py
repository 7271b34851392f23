"""Once per slot: a scheduled job runs at most once per interval across every worker.

The worker loop runs each job when it is due; wrapped in ``Claimed``, a job first inserts its
(name, slot) row in ``job_runs`` — the primary key lets exactly one worker succeed — and only
that worker runs it, then records when it finished, what it handled, or its error. Slots are
counted from the database clock, so a frozen clock in tests moves them too. The claim and the
record are retried after a serialization failure or a deadlock (``Database.transact``); the
job's own units of work are each retried where they are written.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.jobs.tables import job_runs

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SlotTaken(Exception):
    """Raised by ``Claimed.run`` when another worker has this slot: nothing was run here, which
    is not the same as running and finding nothing to do."""

    def __init__(self, job: str, worker: str) -> None:
        super().__init__(f"{job}: this slot is already taken by worker {worker}")
        self.job, self.worker = job, worker


def worker_name() -> str:
    """This process, as job_runs records it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


@dataclass(frozen=True)
class Claimed:
    """A job that runs only in the worker that claims its current slot."""

    name: str
    interval: timedelta
    work: Callable[[Database], int]
    worker: str = ""

    def slot(self, now: datetime) -> int:
        return int((now - EPOCH) / self.interval)

    def run(self, db: Database) -> int:
        """Claim this slot and run the job; SlotTaken (nothing done) when another worker has it."""
        slot, holder = db.transact(self._claim, what=f"claim {self.name}")
        if holder is not None:
            raise SlotTaken(self.name, holder)
        try:
            handled = self.work(db)
        except Exception as exc:
            self._finish(db, slot, None, f"{type(exc).__name__}: {exc}"[:300])
            raise
        self._finish(db, slot, handled, None)
        return handled

    def _claim(self, uow: UnitOfWork) -> tuple[int, str | None]:
        """This slot, and the worker that has it when that is not this one."""
        slot = self.slot(uow.now)
        won = uow.conn.execute(insert_ignore(uow, job_runs, {
            "job": self.name, "slot": slot, "worker": self.worker or worker_name(),
            "started_at": uow.now}, ["job", "slot"]).returning(job_runs.c.slot)).first()
        if won is not None:
            return slot, None
        holder = uow.conn.execute(select(job_runs.c.worker).where(
            job_runs.c.job == self.name, job_runs.c.slot == slot)).scalar()
        return slot, str(holder or "?")

    def _finish(self, db: Database, slot: int, handled: int | None, error: str | None) -> None:
        def work(uow: UnitOfWork) -> None:
            uow.conn.execute(update(job_runs).where(
                job_runs.c.job == self.name, job_runs.c.slot == slot).values(
                finished_at=uow.now, handled=handled, error=error))

        db.transact(work, what=f"finish {self.name}")


def runs(db: Database, job: str | None = None) -> list[tuple[str, int, str]]:
    """(job, slot, worker) of recorded runs, oldest first."""
    with db.unit(readonly=True) as uow:
        query = select(job_runs.c.job, job_runs.c.slot, job_runs.c.worker)
        if job is not None:
            query = query.where(job_runs.c.job == job)
        rows = uow.conn.execute(query.order_by(job_runs.c.started_at, job_runs.c.job))
        return [(str(r.job), int(r.slot), str(r.worker)) for r in rows]
