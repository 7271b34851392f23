"""Attempt counters for logins, binds and codes: lock a key after too many failures.

Failures must outlive the refused request, so callers record them in a unit of work that
commits, and raise the refusal afterwards.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.subscribers.errors import AccountLocked
from topup.subscribers.tables import attempts


def ensure_open(uow: UnitOfWork, key: str) -> None:
    """Raise AccountLocked while ``key`` is locked."""
    row = uow.conn.execute(select(attempts).where(attempts.c.key == key)).first()
    if row and row.locked_until and row.locked_until > uow.now:
        wait = int((row.locked_until - uow.now).total_seconds()) + 1
        raise AccountLocked(f"locked; try again in {wait} seconds", retry_after=wait)


def fail(uow: UnitOfWork, key: str, max_failures: int, lock_seconds: int) -> bool:
    """Count one failure; returns True when this failure locked the key."""
    window = timedelta(seconds=lock_seconds)
    uow.conn.execute(insert_ignore(uow, attempts, {
        "key": key, "failures": 0, "window_start": uow.now, "locked_until": None,
    }, ["key"]))
    row = uow.conn.execute(select(attempts).where(attempts.c.key == key)).one()
    failures = row.failures + 1 if row.window_start + window > uow.now else 1
    start = row.window_start if failures > 1 else uow.now
    locked = uow.now + window if failures >= max_failures else None
    uow.conn.execute(update(attempts).where(attempts.c.key == key).values(
        failures=0 if locked else failures, window_start=start, locked_until=locked,
    ))
    return locked is not None


def clear(uow: UnitOfWork, key: str) -> None:
    """Forget the failures of ``key`` after a success."""
    uow.conn.execute(delete(attempts).where(attempts.c.key == key))
