"""The worker loop: run each job when it is due, until told to stop.

A job is anything with a ``name``, an ``interval`` (seconds, or a ``timedelta``) and
``run(db) -> int`` (how much it did): an object with a ``run`` method, or a dataclass holding
a ``run`` function. Outbox delivery is one job; schedules (reminders, auto-renew, expiry,
reconciliation) plug in the same way. A job that did something is due again at once, so a
backlog drains without waiting; one that found nothing waits its interval. A job that raises
is logged and tried again after its interval: one broken job never stops the others.

Many workers may run at once, on one machine or many: jobs take their work with claims in the
database (see ``notifications.delivery``), never with locks in process memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from topup.db.uow import Database
from topup.jobs.claims import SlotTaken

log = logging.getLogger(__name__)
MAX_SLEEP = 5.0  # seconds: the longest the loop sleeps before looking at the stop flag again


class Job(Protocol):
    """One kind of background work."""

    @property
    def name(self) -> str:
        """Unique among the jobs of one loop (logs and statistics use it)."""
        ...

    @property
    def interval(self) -> float | timedelta:
        """How long to wait after a round that found nothing to do."""
        ...

    @property
    def run(self) -> Callable[[Database], int]:
        """Do one round of work; how many items it handled (0: nothing to do)."""
        ...


def seconds(interval: float | timedelta) -> float:
    """A job's interval in seconds."""
    return interval.total_seconds() if isinstance(interval, timedelta) else float(interval)


@dataclass
class JobStats:
    """What a job did during one ``run`` of the loop."""

    runs: int = 0
    handled: int = 0
    errors: int = 0
    taken: int = 0  # rounds another worker ran instead (its slot was taken): nothing ran here
    taken_by: str = ""  # the last worker that had it

    def summary(self, name: str) -> str:
        """One line saying truthfully what happened to job ``name``."""
        if self.taken and self.taken == self.runs:
            return f"{name}: not run here, its slot was already taken by {self.taken_by}"
        ran = self.runs - self.taken
        text = f"{name}: {self.handled} handled in {ran} runs, {self.errors} errors"
        return text + (f", {self.taken} slots taken by other workers" if self.taken else "")


def _run_one(db: Database, job: Job, stats: JobStats) -> int:
    stats.runs += 1
    try:
        done = int(job.run(db))
    except SlotTaken as taken:
        stats.taken += 1
        stats.taken_by = taken.worker
        return 0
    except Exception:
        stats.errors += 1
        log.exception("job %s failed; trying again in %ss", job.name, job.interval)
        return 0
    stats.handled += done
    return done


def run(db: Database, jobs: Sequence[Job], *, stop_event: threading.Event, once: bool = False,
        monotonic: Callable[[], float] = time.monotonic) -> dict[str, JobStats]:
    """Run ``jobs`` until ``stop_event`` is set (or each once, with ``once``)."""
    names = [job.name for job in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"job names must be unique: {names}")
    stats = {job.name: JobStats() for job in jobs}
    due = {job.name: monotonic() for job in jobs}
    while not stop_event.is_set():
        for job in jobs:
            if stop_event.is_set():
                break
            if once or due[job.name] <= monotonic():
                done = _run_one(db, job, stats[job.name])
                due[job.name] = monotonic() + (0.0 if done > 0 else seconds(job.interval))
        if once:
            break
        pause = min(due.values(), default=monotonic() + MAX_SLEEP) - monotonic()
        if pause > 0:
            stop_event.wait(min(pause, MAX_SLEEP))
    return stats
