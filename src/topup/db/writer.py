"""A first-come, first-served gate for SQLite writers inside one process.

SQLite lets one writer in at a time and makes the others poll with growing sleeps, so under
load a few unlucky requests wait seconds while later ones slip past. Queuing writers here in
arrival order keeps the wait proportional to the queue. Other processes (a CLI beside the
server) still meet SQLite's own busy timeout.
"""

from __future__ import annotations

import threading
from collections import deque

from topup.errors import TopupError


class DatabaseBusy(TopupError):
    """Raised when a write waited longer than the busy timeout for its turn."""

    code = "database_busy"
    status = 503
    title = "The service is busy; please retry"


class WriterQueue:
    """A FIFO lock: ``acquire`` hands the lock to waiters in the order they arrived."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Event] = deque()

    def acquire(self, timeout: float) -> None:
        """Wait for this writer's turn; raise DatabaseBusy after ``timeout`` seconds."""
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Event()
            self._waiters.append(turn)
        if turn.wait(timeout):
            return
        with self._mutex:
            if turn.is_set():  # handed over just as we gave up
                return
            self._waiters.remove(turn)
        raise DatabaseBusy(f"no write slot within {timeout:.0f} s")

    def release(self) -> None:
        """Hand the lock to the longest waiter, or free it."""
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().set()
            else:
                self._held = False
