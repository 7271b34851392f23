"""The line lifecycle as time passes: active lines left with nothing go to grace, then to
suspension, then are terminated — in batches, for sweeps over millions of lines.

A line is *kept* (stays active) while it has anything of value; what counts as value is told by
the areas that own it (live buckets, money in a wallet), as subqueries of line ids, so this
module reads no other area's tables. Frozen lines never move by themselves; a top-up in grace
or suspension reactivates the line (``lines.activate_on_value``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, insert, literal, select, update

from topup.db.uow import UnitOfWork
from topup.subscribers.tables import line_events, lines

REASONS = {
    "grace": "no plan and no money left",
    "suspended": "grace period over",
    "terminated": "suspended too long",
}


@dataclass(frozen=True)
class Step:
    """One move of the lifecycle: lines in ``origin`` that meet ``due`` go to ``target``."""

    origin: str
    target: str
    due: ColumnElement[bool]


def steps(uow: UnitOfWork, kept: Sequence[Select[Any]], *, grace_days: int,
          suspended_days: int) -> list[Step]:
    """The three moves at ``uow.now``; ``kept`` are subqueries of line ids that hold value."""
    empty: ColumnElement[bool] = lines.c.id.not_in(kept[0]) if kept else literal(True)
    for more in kept[1:]:
        empty = empty & lines.c.id.not_in(more)
    return [
        Step("active", "grace", empty),
        Step("grace", "suspended",
             lines.c.status_changed_at <= uow.now - timedelta(days=grace_days)),
        Step("suspended", "terminated",
             lines.c.status_changed_at <= uow.now - timedelta(days=suspended_days)),
    ]


def advance(uow: UnitOfWork, step: Step, limit: int) -> list[int]:
    """Move up to ``limit`` due lines one step, recording an event for each; returns their
    ids. On PostgreSQL rows another worker holds are skipped."""
    query = (select(lines.c.id).where(lines.c.status == step.origin, step.due)
             .order_by(lines.c.id).limit(limit))
    if uow.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [int(i) for i in uow.conn.execute(query).scalars()]
    if not ids:
        return []
    moved = [int(i) for i in uow.conn.execute(
        update(lines).where(lines.c.id.in_(ids), lines.c.status == step.origin)
        .values(status=step.target, status_changed_at=uow.now).returning(lines.c.id)).scalars()]
    if moved:
        uow.conn.execute(insert(line_events), [
            {"line_id": i, "at": uow.now, "from_status": step.origin, "to_status": step.target,
             "actor_id": None, "reason": REASONS[step.target]} for i in moved])
    return moved
