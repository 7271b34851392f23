"""Write transactions that PostgreSQL aborts to break a tie are run again, a few times.

PostgreSQL ends a transaction with SQLSTATE 40001 (serialization failure) or 40P01 (deadlock
detected: it chose this transaction as the victim of a lock cycle) when it cannot let two
transactions go on together. Nothing of the victim was written, and running it again a moment
later almost always succeeds: those two, and only those, are retried here (``is_retryable``).
Anything else (a constraint, a lost connection, a bug) is the caller's to handle.

The policy (``RetryPolicy``): at most ``attempts`` tries, none started later than ``seconds``
after the first; between two tries a sleep drawn at random from zero up to an exponential
ceiling (``base`` doubling up to ``cap``: "full jitter"), so two nodes that collided do not
collide again in step. Each retry is logged and counted (``RetryStats``: by SQLSTATE, and the
times the attempts ran out); when they run out, ``TransactionConflict`` (503 with Retry-After)
is raised from the last error, so a client is told to come back rather than shown a 500.

Used by ``Database.transact`` (one unit of work, run again whole), by the group-committing
writer for its batches and lone commands (``db/group.py``), and by the jobs and worker loops.
The work retried must be safe to run twice when the first run rolled back: database writes
only, no call to a payment provider or an SMS gateway before COMMIT (those go after it, from
the outbox, or carry an idempotency key the provider honours).

SQLite never raises these: one writer at a time (``BEGIN IMMEDIATE``), so nothing to break.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from topup.errors import TopupError

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATE -> the name counted in /metrics and logs.
RETRYABLE = {"40001": "serialization_failure", "40P01": "deadlock_detected"}


class TransactionConflict(TopupError):
    """Raised when a write transaction was aborted by the database (a serialization failure
    or a deadlock) on every attempt the retry policy allows: nothing was written."""

    code = "transaction_conflict"
    status = 503
    title = "The service is busy; please retry"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        extra.setdefault("retry_after", 1)
        super().__init__(detail, **extra)


def sqlstate(exc: BaseException | None) -> str | None:
    """The SQLSTATE of the driver's error under ``exc`` (SQLAlchemy wraps it in ``orig``;
    a re-raise may hold it as its ``__cause__``), or None when there is none. A ``TopupError``
    is an answer already (``TransactionConflict`` above all: its retries are spent), never a
    driver's error, and an error merely raised while handling another is not that other."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and not isinstance(exc, TopupError):
        seen.add(id(exc))
        code = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
        if isinstance(code, str):
            return code
        orig = getattr(exc, "orig", None)
        if isinstance(orig, BaseException):
            exc = orig
            continue
        exc = exc.__cause__
    return None


def is_retryable(exc: BaseException) -> bool:
    """True when ``exc`` is (or wraps) a serialization failure or a deadlock: the transaction
    was rolled back whole and may simply be run again."""
    return sqlstate(exc) in RETRYABLE


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long a write is tried again (see the module docstring)."""

    attempts: int = 5
    seconds: float = 3.0
    base: float = 0.01
    cap: float = 0.5

    def pauses(self, rand: Callable[[], float] = random.random) -> Iterator[float]:
        """The sleeps before the second, third … try: full jitter under a doubling ceiling."""
        for n in range(self.attempts - 1):
            yield rand() * min(self.cap, self.base * 2 ** n)


@dataclass
class RetryStats:
    """Retries by SQLSTATE name and the times every attempt failed (``gave_up``), for
    /metrics and /healthz. Safe to count from any thread."""

    retries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RETRYABLE.values(), 0))
    gave_up: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def retried(self, exc: BaseException) -> None:
        name = RETRYABLE.get(sqlstate(exc) or "", "other")
        with self._lock:
            self.retries[name] = self.retries.get(name, 0) + 1

    def exhausted(self) -> None:
        with self._lock:
            self.gave_up += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"retries": dict(self.retries), "gave_up": self.gave_up}


class Attempts:
    """One retried operation's account of its tries: ``again(exc)`` says whether to try once
    more (and sleeps first), or raises ``TransactionConflict`` when ``exc`` is retryable but
    the policy is spent; it returns False for an error that is not to be retried."""

    def __init__(self, policy: RetryPolicy, stats: RetryStats, what: str,
                 sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.stats, self.what = policy, stats, what
        self._pauses = policy.pauses()
        self._sleep, self._monotonic = sleep, monotonic
        self._deadline = monotonic() + policy.seconds
        self.tries = 1

    def again(self, exc: BaseException) -> bool:
        if not is_retryable(exc):
            return False
        pause = next(self._pauses, None)
        if pause is None or self._monotonic() + pause > self._deadline:
            self.stats.exhausted()
            log.warning("%s: %s on each of %d tries; giving up", self.what,
                        RETRYABLE.get(sqlstate(exc) or ""), self.tries)
            raise TransactionConflict(
                f"the database broke a conflict with another transaction {self.tries} times; "
                "nothing was written") from exc
        self.stats.retried(exc)
        log.info("%s: %s (try %d), again in %.3f s", self.what,
                 RETRYABLE.get(sqlstate(exc) or ""), self.tries, pause)
        self._sleep(pause)
        self.tries += 1
        return True


    def answer(self, exc: BaseException) -> BaseException | None:
        """None when ``exc`` is a conflict to try again (the pause slept); else what the
        caller is to be answered: ``exc`` itself, or ``TransactionConflict`` once spent."""
        try:
            return None if self.again(exc) else exc
        except TransactionConflict as spent:
            return spent


def retrying(run: Callable[[], T], policy: RetryPolicy, stats: RetryStats, what: str) -> T:
    """``run()``, run again after a serialization failure or a deadlock, as ``policy`` allows."""
    attempts = Attempts(policy, stats, what)
    while True:
        try:
            return run()
        except Exception as exc:
            if not attempts.again(exc):
                raise
