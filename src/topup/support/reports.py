"""How fast support answers: per ISO week of opening, the median and 90th percentile of the
first response (opening to the first staff answer) and of the resolution (opening to
closing), and the tickets still open by how long they have waited.

Percentiles are nearest-rank over the week's tickets that have the time (a ticket not yet
answered counts in neither), in whole minutes; computed here rather than in SQL so SQLite and
PostgreSQL give the same figures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from topup.db.uow import UnitOfWork
from topup.support.tables import tickets

AGE_BANDS = (("< 1 h", timedelta(hours=1)), ("1–24 h", timedelta(days=1)),
             ("1–3 d", timedelta(days=3)), ("3–7 d", timedelta(days=7)))
OLDEST = "> 7 d"


@dataclass(frozen=True)
class WeekTimes:
    """One week's tickets: how many were opened, and the times in minutes (None: no data)."""

    week: str  # ISO week, 2026-W49
    opened: int
    first_response_median: int | None
    first_response_p90: int | None
    resolution_median: int | None
    resolution_p90: int | None


def percentile(values: list[float], p: float) -> int | None:
    """The nearest-rank ``p`` percentile (0 < p ≤ 100) in whole minutes; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1])


def _minutes(start: datetime, end: datetime | None) -> float | None:
    # never below zero: workers whose clocks disagree by a little must not show a negative
    return None if end is None else max((end - start).total_seconds() / 60, 0.0)


def weekly(uow: UnitOfWork, weeks: int = 8) -> list[WeekTimes]:
    """The last ``weeks`` weeks with tickets, newest first."""
    since = uow.now - timedelta(weeks=weeks)
    rows = uow.conn.execute(select(tickets.c.created_at, tickets.c.first_response_at,
                                   tickets.c.closed_at).where(tickets.c.created_at >= since))
    by_week: dict[str, list[tuple[float | None, float | None]]] = {}
    for r in rows:
        year, week, _ = r.created_at.isocalendar()
        by_week.setdefault(f"{year}-W{week:02d}", []).append(
            (_minutes(r.created_at, r.first_response_at), _minutes(r.created_at, r.closed_at)))
    out = []
    for week in sorted(by_week, reverse=True):
        first = [f for f, _ in by_week[week] if f is not None]
        done = [c for _, c in by_week[week] if c is not None]
        out.append(WeekTimes(week, len(by_week[week]), percentile(first, 50),
                             percentile(first, 90), percentile(done, 50), percentile(done, 90)))
    return out


def open_by_age(uow: UnitOfWork) -> list[tuple[str, int]]:
    """Tickets not closed, counted by how long ago they were opened (every band listed)."""
    counts = {label: 0 for label, _ in AGE_BANDS} | {OLDEST: 0}
    for (created,) in uow.conn.execute(select(tickets.c.created_at)
                                       .where(tickets.c.state != "closed")):
        age = uow.now - created
        label = next((name for name, limit in AGE_BANDS if age < limit), OLDEST)
        counts[label] += 1
    return list(counts.items())
