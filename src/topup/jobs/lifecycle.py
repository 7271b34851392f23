"""Sweeps that make time pass: ended buckets to breakage (their price earned), and lines left
with nothing through grace, suspension and termination.

Each batch is one unit of work (run again after a serialization failure or a deadlock), so
a sweep interrupted half-way leaves every line and bucket either moved or untouched, and the
next sweep goes on. Sweeps are safe to run in parallel: every move is conditional on the
state it starts from, and on PostgreSQL claimed rows are skipped by the other sweeper.
"""

from __future__ import annotations

from functools import partial

from topup.charging import buckets
from topup.db.uow import Database, UnitOfWork
from topup.jobs.notices import tell_grace
from topup.ledger import service as ledger
from topup.orders import revenue
from topup.subscribers import lifecycle


def expire_buckets(db: Database, *, batch: int = 200) -> int:
    """End every bucket past its end; returns how many ended."""
    ended = 0
    while True:
        seen, done = db.transact(lambda uow: _expire(uow, batch), what="expire_buckets")
        ended += done
        if seen < batch:
            return ended


def _expire(uow: UnitOfWork, batch: int) -> tuple[int, int]:
    """One batch of ``expire_buckets``: (buckets due, of which ended with an order)."""
    due = buckets.due_to_expire(uow, batch)
    ended = 0
    for bucket_id in due:
        order_id = buckets.expire_bucket(uow, bucket_id)
        if order_id is not None:
            revenue.earn(uow, order_id)
            ended += 1
    return len(due), ended


def advance_lines(db: Database, *, batch: int = 2000) -> dict[str, int]:
    """Move due lines along the lifecycle; returns how many reached each state. A line
    entering grace is told, in the same unit of work, when it is suspended and how to
    restore it (``notices.py``)."""
    moved = {"grace": 0, "suspended": 0, "terminated": 0}
    for index in range(3):
        after = 0
        while True:
            target, ids = db.transact(partial(_advance, index, batch, after),
                                      what="line_lifecycle")
            moved[target] += len(ids)
            if len(ids) < batch:
                break
            after = ids[-1]
    return moved


def _advance(index: int, batch: int, after: int, uow: UnitOfWork) -> tuple[str, list[int]]:
    """One batch of ``advance_lines``' step ``index``: its target state and the lines moved."""
    step = lifecycle.steps(
        uow, [buckets.lines_with_live_buckets(uow), ledger.lines_with_money()],
        grace_days=uow.settings.grace_days,
        suspended_days=uow.settings.suspended_days)[index]
    ids = lifecycle.advance(uow, step, batch, after=after)
    if step.target == "grace":
        tell_grace(uow, ids)
    return step.target, ids
