"""The bounds every integer id and count in a request meets before any query runs.

Ids are BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite: anything outside 1..2^63-1 names
nothing, and sending it to the database would fail there (a 500) instead of at the edge (a 422).
The aliases work for path, query and form parameters and for body fields alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from annotated_types import Interval
from pydantic import AfterValidator

DB_INT_MAX = 2**63 - 1  # the largest integer either database stores
DbId = Annotated[int, Interval(ge=1, le=DB_INT_MAX)]
DbCount = Annotated[int, Interval(ge=0, le=DB_INT_MAX)]  # quantities stored as integers
INT32_MAX = 2**31 - 1  # columns declared INTEGER (4 bytes on PostgreSQL)
MAX_VALIDITY_DAYS = 3660  # ten years: a plan that lasts longer is a typo, and dates stay in range


def _in_utc(value: datetime) -> datetime:
    """A time with a zone, moved to UTC; 0001-01-01T00:00+14:00 has no UTC time (before year 1)."""
    if value.tzinfo is None:
        raise ValueError("give the time with a UTC offset, e.g. 2026-11-22T08:00:00Z")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time falls outside the calendar once moved to UTC") from None


# A request's point in time: with a zone, and representable in UTC (where it is stored).
UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]
