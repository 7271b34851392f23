"""Throttles: counters per key (an account, an address, a target) with exponential back-off.

A key names what is being tried: ``login:account:user:42``, ``login:ip:192.0.2.1``,
``bind:line:7``… Each is counted under a ``Rule``:

- events are counted in a window that opens at the key's first event and lasts
  ``window`` seconds; the first event after it starts a new count at 1;
- once the count reaches ``free``, the key waits ``base * 2 ** (count - free)`` seconds, at most
  ``cap``; while it waits, ``wait`` reports the seconds left and the caller refuses the try
  without testing it. A refused try is not counted, so hammering a waiting key never makes the
  wait longer: the owner of an account is kept out at most for the current back-off;
- ``spend`` is the budget form (requests that cost the operator: messages, new accounts): every
  request is counted, and it is within budget while the count is at most ``free``.

Counters live in the database (``attempt_counters``), never in process memory, and are updated
by one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (no read-modify-write), so concurrent
failures on PostgreSQL are all counted; on SQLite the writer queue serialises them anyway.
Failures must outlive the refused request: callers count them in a unit of work that commits,
and raise the refusal afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, literal, or_, select, update

from topup.db.dialect import upsert
from topup.db.metadata import UTCDateTime
from topup.db.uow import UnitOfWork
from topup.subscribers.tables import attempts

MAX_KEY = 200


@dataclass(frozen=True)
class Rule:
    """How many events a key has for free per window, and the back-off after them."""

    free: int
    window: int  # seconds
    base: int = 0  # first wait in seconds once ``free`` is reached (0: no back-off)
    cap: int = 0  # the longest wait

    def backoff(self, count: int) -> int:
        """Seconds to wait after the ``count``-th event of a window (0 below ``free``)."""
        if count < self.free or self.base <= 0:
            return 0
        return min(self.cap or self.base, self.base * 2 ** min(count - self.free, 32))


def key(*parts: object) -> str:
    """A bounded key from parts; long ones (addresses, free text) are hashed."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= MAX_KEY:
        return text
    return f"{parts[0]}:sha256:{hashlib.sha256(text.encode()).hexdigest()}"


def _count(uow: UnitOfWork, name: str, rule: Rule) -> tuple[int, datetime]:
    """Add one event to ``name`` atomically; the new count and when its window opened."""
    t, now = attempts, uow.now
    expired = t.c.window_start <= uow.now - timedelta(seconds=rule.window)
    stmt = upsert(uow, t, {"key": name, "failures": 1, "window_start": now,
                           "locked_until": None}, ["key"], {
        "failures": case((expired, 1), else_=t.c.failures + 1),
        "window_start": case((expired, literal(now, UTCDateTime())), else_=t.c.window_start),
    }).returning(t.c.failures, t.c.window_start)
    row = uow.conn.execute(stmt).one()
    return int(row.failures), row.window_start


def hit(uow: UnitOfWork, name: str, rule: Rule) -> int:
    """Count one failure against ``name``; returns the count in the window.

    When the count calls for a wait, the key's wait is raised to it (never lowered, so
    concurrent failures cannot shorten each other's back-off).
    """
    count, _ = _count(uow, name, rule)
    seconds = rule.backoff(count)
    if seconds:
        until = uow.now + timedelta(seconds=seconds)
        uow.conn.execute(update(attempts).where(
            attempts.c.key == name,
            or_(attempts.c.locked_until.is_(None), attempts.c.locked_until < until),
        ).values(locked_until=until))
    return count


def spend(uow: UnitOfWork, name: str, rule: Rule) -> int:
    """Count one request against a budget; 0 while within it, else the seconds until the
    window ends (the request is counted either way)."""
    count, start = _count(uow, name, rule)
    if count <= rule.free:
        return 0
    return max(1, int((start + timedelta(seconds=rule.window) - uow.now).total_seconds()) + 1)


def wait(uow: UnitOfWork, names: Iterable[str]) -> int:
    """Seconds the longest-waiting of ``names`` still waits; 0 when all are open."""
    names = list(names)
    rows = uow.conn.execute(select(attempts.c.locked_until).where(
        attempts.c.key.in_(names), attempts.c.locked_until > uow.now)).all()
    if not rows:
        return 0
    longest = max(r.locked_until for r in rows)
    return int((longest - uow.now).total_seconds()) + 1


def mark(uow: UnitOfWork, name: str, seconds: int) -> None:
    """Set a marker (a fact that lapses, such as "this address signed in to this account"):
    the same table, no failures, ``locked_until`` is when it lapses."""
    until = uow.now + timedelta(seconds=seconds)
    marker = {"failures": 0, "window_start": uow.now, "locked_until": until}
    uow.conn.execute(upsert(uow, attempts, {"key": name, **marker}, ["key"], marker))


def marked(uow: UnitOfWork, name: str) -> bool:
    """Whether the marker ``name`` is set and has not lapsed."""
    return uow.conn.execute(select(attempts.c.key).where(
        attempts.c.key == name, attempts.c.locked_until > uow.now)).first() is not None


def count_of(uow: UnitOfWork, name: str) -> int:
    """The failures counted against ``name`` in its current window (for reports and tests)."""
    row = uow.conn.execute(select(attempts.c.failures).where(attempts.c.key == name)).first()
    return int(row.failures) if row else 0


def longest_window(uow: UnitOfWork) -> int:
    """The longest window any configured rule counts over, in seconds."""
    s = uow.settings
    return max(s.login_window_seconds, s.reset_request_window_seconds, s.reset_window_seconds,
               s.bind_window_seconds, s.voucher_window_seconds, s.voucher_lockout_seconds,
               s.register_window_seconds)


def purge(uow: UnitOfWork, limit: int) -> int:
    """Delete up to ``limit`` counters whose window and wait have both ended (they would
    restart at 1 anyway); returns how many went. Keys of unknown logins and of addresses
    would otherwise pile up for ever."""
    done = uow.now - timedelta(seconds=longest_window(uow))
    stale = select(attempts.c.key).where(
        attempts.c.window_start <= done,
        or_(attempts.c.locked_until.is_(None), attempts.c.locked_until <= uow.now),
    ).limit(limit)
    names = [row.key for row in uow.conn.execute(stale)]
    if names:
        uow.conn.execute(delete(attempts).where(attempts.c.key.in_(names)))
    return len(names)


def clear(uow: UnitOfWork, name: str) -> None:
    """Forget the failures of ``name`` after a success."""
    uow.conn.execute(delete(attempts).where(attempts.c.key == name))
