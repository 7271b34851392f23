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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, select, true, update

from topup.db.bulk import insert_rows
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


def _holds(kept: Select[Any]) -> ColumnElement[bool]:
    # A correlated EXISTS costs one index probe per line looked at; ``NOT IN`` would build
    # the whole set of holding lines again for every batch of a sweep.
    return kept.where(kept.selected_columns[0] == lines.c.id).exists()


def steps(uow: UnitOfWork, kept: Sequence[Select[Any]], *, grace_days: int,
          suspended_days: int) -> list[Step]:
    """The three moves at ``uow.now``; ``kept`` are subqueries of line ids that hold value."""
    empty = and_(true(), *(~_holds(holding) for holding in kept))
    return [
        Step("active", "grace", empty),
        Step("grace", "suspended",
             lines.c.status_changed_at <= uow.now - timedelta(days=grace_days)),
        Step("suspended", "terminated",
             lines.c.status_changed_at <= uow.now - timedelta(days=suspended_days)),
    ]


def advance(uow: UnitOfWork, step: Step, limit: int, *, after: int = 0) -> list[int]:
    """Move up to ``limit`` due lines with ids above ``after`` one step, the lowest ids
    first, recording an event for each; returns their ids, ascending. On PostgreSQL rows
    another worker holds are skipped. A sweep passes the last id of one batch as ``after``
    of the next, so that it reads every line once instead of starting over each time."""
    due = (select(lines.c.id).where(lines.c.id > after, lines.c.status == step.origin,
                                    step.due)
           .order_by(lines.c.id).limit(limit).correlate(None))
    if uow.dialect == "postgresql":
        due = due.with_for_update(skip_locked=True)
    moved = sorted(int(i) for i in uow.conn.execute(
        update(lines).where(lines.c.id.in_(due.scalar_subquery()),
                            lines.c.status == step.origin)
        .values(status=step.target, status_changed_at=uow.now).returning(lines.c.id)).scalars())
    insert_rows(uow.conn, line_events, ("line_id",), ((i,) for i in moved), same={
        "at": uow.now, "from_status": step.origin, "to_status": step.target,
        "actor_id": None, "reason": REASONS[step.target]})
    return moved


def next_step(uow: UnitOfWork, line_id: int, *, grace_days: int, suspended_days: int
              ) -> tuple[str, str, datetime] | None:
    """For a line in grace or suspended: its state, the state it moves to next and when, if
    nothing of value arrives before (a top-up or a plan restores it); None otherwise."""
    row = uow.conn.execute(select(lines.c.status, lines.c.status_changed_at)
                           .where(lines.c.id == line_id)).first()
    if row is None or row.status not in ("grace", "suspended") or row.status_changed_at is None:
        return None
    if row.status == "grace":
        return "grace", "suspended", row.status_changed_at + timedelta(days=grace_days)
    return "suspended", "terminated", row.status_changed_at + timedelta(days=suspended_days)


def in_state_since(uow: UnitOfWork, status: str, before: datetime, after: int, limit: int
                   ) -> list[tuple[int, datetime]]:
    """(id, since) of up to ``limit`` lines with ids above ``after`` that have been in
    ``status`` since before ``before``, ascending by id."""
    rows = uow.conn.execute(
        select(lines.c.id, lines.c.status_changed_at).where(
            lines.c.status == status, lines.c.status_changed_at <= before, lines.c.id > after)
        .order_by(lines.c.id).limit(limit))
    return [(int(r.id), r.status_changed_at) for r in rows]


def numbers_of(uow: UnitOfWork, line_ids: list[int]) -> dict[int, str]:
    """How messages name each line: its number (``+…``), else its ICCID."""
    rows = uow.conn.execute(select(lines.c.id, lines.c.msisdn, lines.c.iccid)
                            .where(lines.c.id.in_(line_ids)))
    return {int(r.id): f"+{r.msisdn}" if r.msisdn else str(r.iccid) for r in rows}
