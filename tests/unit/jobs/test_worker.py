"""The worker loop: every job when due, backlogs drained, failures contained, stop honoured."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from topup.jobs.worker import run


@dataclass
class Counting:
    name: str
    interval: float | timedelta = 60.0
    backlog: int = 0
    calls: int = 0
    fail: bool = False
    stop: threading.Event | None = None
    after: int = 0
    seen: list[str] = field(default_factory=list)

    def run(self, db: Any) -> int:
        self.calls += 1
        if self.stop is not None and self.calls >= self.after:
            self.stop.set()
        if self.fail:
            raise RuntimeError("broken")
        if self.backlog:
            self.backlog -= 1
            return 1
        return 0


def test_once_runs_each_job_one_time() -> None:
    a, b = Counting("a", backlog=5), Counting("b", interval=timedelta(hours=1))
    stats = run(None, [a, b], stop_event=threading.Event(), once=True)  # type: ignore[arg-type]
    assert (a.calls, b.calls) == (1, 1)
    assert stats["a"].handled == 1 and stats["b"].handled == 0


def test_a_backlog_drains_without_waiting_and_a_broken_job_stops_nothing() -> None:
    stop = threading.Event()
    drain = Counting("drain", backlog=50)
    broken = Counting("broken", fail=True, interval=0.01)
    watcher = Counting("watch", interval=0.01, stop=stop, after=5)
    clock = iter(range(10**6))
    stats = run(None, [drain, broken, watcher], stop_event=stop,  # type: ignore[arg-type]
                monotonic=lambda: next(clock) / 1000)
    assert drain.calls >= 5 and stats["broken"].errors == broken.calls >= 1
    assert stop.is_set()


def test_a_stop_before_start_runs_nothing_and_names_must_be_unique() -> None:
    stop = threading.Event()
    stop.set()
    job = Counting("a")
    assert run(None, [job], stop_event=stop)["a"].runs == 0  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        run(None, [Counting("a"), Counting("a")], stop_event=threading.Event())  # type: ignore[arg-type]


def test_the_loop_sleeps_until_the_next_job_is_due() -> None:
    stop = threading.Event()
    job = Counting("tick", interval=0.05, stop=stop, after=3)
    run(None, [job], stop_event=stop)  # type: ignore[arg-type]
    assert job.calls == 3


@dataclass
class Taken:
    name: str = "sweep"
    interval: float = 60.0

    def run(self, db: Any) -> int:
        from topup.jobs.claims import SlotTaken

        raise SlotTaken(self.name, "host-b:42")


def test_a_slot_another_worker_took_is_reported_as_such_not_as_no_work() -> None:
    stats = run(None, [Taken()], stop_event=threading.Event(), once=True)  # type: ignore[arg-type]
    st = stats["sweep"]
    assert (st.runs, st.handled, st.errors, st.taken, st.taken_by) == (1, 0, 0, 1, "host-b:42")
    assert st.summary("sweep") == "sweep: not run here, its slot was already taken by host-b:42"
    st.runs, st.handled = 3, 4
    assert st.summary("sweep") == ("sweep: 4 handled in 2 runs, 0 errors, 1 slots taken by "
                                   "other workers")
