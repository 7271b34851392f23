"""Two workers on one database run the schedules at the same time: every job runs once per
slot, whoever claims it, and nothing they do is done twice."""

from __future__ import annotations

import threading
from collections import Counter

from tests.factories import make_line
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.jobs import worker
from topup.jobs.claims import Claimed, runs
from topup.jobs.schedule import lifecycle_jobs
from topup.orders import renewals
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.subscribers import lines

ROUNDS = 24


def test_two_workers_run_each_job_once_per_slot(catalogue: Database,
                                                clock: FrozenClock) -> None:
    for n in range(6):  # some lines with plans that end, renew, lapse during the run
        line = make_line(catalogue, country="TH")
        with catalogue.unit() as uow:
            lines.set_auto_renew(uow, line.id, n % 2 == 0)
            current = lines.get_line(uow, line.id)
            create_order(uow, None, current, OrderRequest(
                kind="topup", method="manual", channel="api", amount=10_00 + 49_00 * (n % 3),
                reason="seed"))
            create_order(uow, None, lines.get_line(uow, line.id), OrderRequest(
                kind="plan", method="wallet", channel="api",
                plan_id=catalog.get_plan_by_code(uow, "TH-1D-1GB").id))
    executed: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def workers_db(name: str) -> tuple[Database, list[Claimed]]:
        db = Database(make_engine(catalogue.engine.url.render_as_string(hide_password=False)),
                      catalogue.settings, clock)
        jobs = []
        for job in lifecycle_jobs({}, renewals.Payers({}, {})):
            def work(d: Database, inner: Claimed = job) -> int:
                with lock:
                    executed.append((inner.name, inner.slot(clock.now), name))
                return inner.work(d)
            jobs.append(Claimed(job.name, job.interval, work, worker=name))
        return db, jobs

    pair = [workers_db("w1"), workers_db("w2")]
    go, done = threading.Barrier(3), threading.Barrier(3)

    def loop(db: Database, jobs: list[Claimed]) -> None:
        for _ in range(ROUNDS):
            go.wait(timeout=60)
            worker.run(db, jobs, stop_event=threading.Event(), once=True)
            done.wait(timeout=60)

    threads = [threading.Thread(target=loop, args=p) for p in pair]
    for t in threads:
        t.start()
    for _ in range(ROUNDS):
        go.wait(timeout=60)  # both workers run this round at the same time
        done.wait(timeout=60)
        clock.advance(minutes=37)
    for t in threads:
        t.join(60)
    twice = [k for k, n in Counter((j, s) for j, s, _ in executed).items() if n > 1]
    assert twice == [], f"ran twice in one slot: {twice}"
    recorded = {(j, s) for j, s, _ in runs(catalogue)}
    assert {(j, s) for j, s, _ in executed} == recorded
    assert len(recorded) > 40, "the schedules did run"
    assert {w for _, _, w in runs(catalogue)} <= {"w1", "w2"}
    for db, _ in pair:
        db.dispose()
