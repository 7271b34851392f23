"""Unit of work: one transaction per command, with the time it started and the settings.

Services take a ``UnitOfWork`` and never commit; the caller's ``with db.unit() as uow:`` commits
on success and rolls back on any exception, so nothing is half-applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection, Engine

from topup.clock import Clock, system_clock
from topup.config import Settings
from topup.db.writer import WriterQueue


@dataclass
class UnitOfWork:
    """What a service needs for one command: the connection, ``now``, and the settings."""

    conn: Connection
    now: datetime
    settings: Settings
    after_commit: list[object] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name


class Database:
    """Owns the engine; hands out units of work."""

    WRITE_WAIT_SECONDS = 30.0

    def __init__(self, engine: Engine, settings: Settings, clock: Clock = system_clock) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._writers = WriterQueue() if engine.dialect.name == "sqlite" else None

    @contextmanager
    def unit(self, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        """A transaction that commits when the block ends normally, else rolls back.

        ``readonly`` units take no write lock on SQLite, so reads never queue behind writers.
        """
        queue = None if readonly else self._writers
        if queue is not None:
            queue.acquire(self.WRITE_WAIT_SECONDS)
        try:
            with self.engine.connect() as raw:
                conn = raw.execution_options(topup_readonly=readonly)
                with conn.begin():
                    yield UnitOfWork(conn=conn, now=self.clock(), settings=self.settings)
        finally:
            if queue is not None:
                queue.release()

    def dispose(self) -> None:
        self.engine.dispose()
