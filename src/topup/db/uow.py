"""Unit of work: one transaction per command, with the time it started and the settings.

Services take a ``UnitOfWork`` and never commit; the caller's ``with db.unit() as uow:`` commits
on success and rolls back on any exception, so nothing is half-applied. A write that may meet
another node's on PostgreSQL goes through ``db.transact(work)`` instead: the same unit of work,
run again whole after a serialization failure or a deadlock (``topup.db.retry``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.engine import Connection, Engine

from topup.clock import Clock, system_clock
from topup.config import Settings
from topup.db.engine import READONLY
from topup.db.events import HANDLERS, Handlers, run_handlers
from topup.db.replica import PRIMARY, ReplicaReads, Source
from topup.db.retry import RetryPolicy, RetryStats, retrying
from topup.db.writer import WriterQueue

if TYPE_CHECKING:
    from topup.db.group import GroupWriter
    from topup.db.remote import RemoteWriter

T = TypeVar("T")


@dataclass
class UnitOfWork:
    """What a service needs for one command: the connection, ``now``, and the settings."""

    conn: Connection
    now: datetime
    settings: Settings
    after_commit: list[object] = field(default_factory=list)
    # Ids of immutable rows (ledger accounts by key) known to be committed, shared by every
    # unit of work of the database; ``learned`` joins them only once this unit has committed,
    # so an id from a rolled-back insert is never remembered.
    known: dict[str, int] = field(default_factory=dict)
    learned: dict[str, int] = field(default_factory=dict)
    # Reads repeated inside this one transaction (a batch of many commands), answered once.
    memo: dict[tuple[object, ...], object] = field(default_factory=dict)
    # Domain events published by this unit's commands, handled before it commits
    # (``topup.db.events``).
    events: list[object] = field(default_factory=list)
    # Where the reads come from: the primary, or a replica that may be behind (db/replica.py).
    source: Source = PRIMARY

    @property
    def as_of(self) -> datetime | None:
        """When the data was last current, if it came from a replica that is behind."""
        return self.source.as_of

    def publish(self, event: object) -> None:
        """Have ``event`` handled in this transaction, after the caller's block, before COMMIT."""
        self.events.append(event)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def readonly(self) -> bool:
        """Whether the database refuses this unit's writes (``Database.unit(readonly=True)``)."""
        return bool(self.conn.get_execution_options().get(READONLY))

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: an exception undoes its writes, the ids it learned, the
        events it published, and the reads it remembered (they may have seen its own undone
        writes)."""
        mark = dict(self.learned)
        published = len(self.events)
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            nested.rollback()
            self.learned = mark
            del self.events[published:]
            self.memo.clear()
            raise
        nested.commit()


class Database:
    """Owns the engine; hands out units of work."""

    WRITE_WAIT_SECONDS = 30.0
    MAX_KNOWN_IDS = 100_000  # account ids remembered (about 15 MB at most)

    def __init__(self, engine: Engine, settings: Settings, clock: Clock = system_clock, *,
                 handlers: Handlers | None = None) -> None:
        self.engine = engine
        # The shared registry the composition root fills (see ``topup.db.events``).
        self.handlers = HANDLERS if handlers is None else handlers
        self.settings = settings
        self.clock = clock
        self._writers = WriterQueue() if engine.dialect.name == "sqlite" else None
        self.known_ids: dict[str, int] = {}
        # Process-local caches areas keep per database, each bounded where it is defined.
        self.caches: dict[str, Any] = {}
        self._group: GroupWriter | None = None
        self._remote: RemoteWriter | None = None
        self._group_lock = threading.Lock()
        self.replica = ReplicaReads(engine, settings)
        self.retry_policy = RetryPolicy(attempts=settings.retry_attempts,
                                        seconds=settings.retry_seconds)
        # Transactions run again (and given up) by ``transact`` and the writer, for /metrics.
        self.retry_stats = RetryStats()

    @property
    def writer(self) -> GroupWriter | RemoteWriter:
        """The database's group-committing writer (started on first use): the writer process
        when ``TOPUP_WRITER_SOCKET`` names one (db/remote.py), else ``local_writer``. Never
        call it from inside a unit of work: on SQLite it waits for the same write slot."""
        if not self.settings.writer_socket:
            return self.local_writer
        with self._group_lock:
            if self._remote is None:
                from topup.db.remote import RemoteWriter

                self._remote = RemoteWriter(self.settings.writer_socket,
                                            lambda: self.local_writer)
            return self._remote

    @property
    def local_writer(self) -> GroupWriter:
        """This process's own writer thread."""
        group = self._group
        if group is not None:  # made once: no lock on the way of every command
            return group
        with self._group_lock:
            if self._group is None:
                from topup.db.group import GroupWriter
                from topup.db.pipeline import PIPELINES

                kind = PIPELINES.get(self.settings.writer_pipeline, GroupWriter) \
                    if self.engine.dialect.name == "sqlite" else GroupWriter
                self._group = kind(self, self.settings.writer_max_batch)
            return self._group

    @contextmanager
    def unit(self, *, readonly: bool = False, replica: bool = False,
             on: Connection | None = None) -> Iterator[UnitOfWork]:
        """A transaction that commits when the block ends normally, else rolls back. The
        events the block published are handled first, in the same transaction.

        ``readonly`` units take no write lock on SQLite, so reads never queue behind writers,
        and the database refuses their writes (db/engine.py).
        ``replica``: a read-only unit for reports and exports, on the replica
        (``TOPUP_REPLICA_URL``) when it is close enough, else on the primary; ``uow.as_of``
        says how old its data is (db/replica.py). Never for what a traveller needs fresh.
        ``on``: a connection the caller keeps open between units (the writer's), else one
        from the pool.
        """
        if replica and not readonly:
            raise ValueError("a unit on the replica must be readonly")
        queue = None if readonly else self._writers
        if queue is not None:
            queue.acquire(self.WRITE_WAIT_SECONDS)
        try:
            opened: AbstractContextManager[Connection]
            source = PRIMARY
            if replica:
                opened, source = self.replica.open()
            elif on is not None:
                opened = nullcontext(on)
            else:
                opened = self.engine.connect()
            with opened as raw:
                conn = raw.execution_options(**{READONLY: readonly})
                with conn.begin():
                    uow = UnitOfWork(conn=conn, now=self.clock(), settings=self.settings,
                                     known=self.known_ids, source=source)
                    yield uow
                    run_handlers(uow, self.handlers)
                if len(self.known_ids) + len(uow.learned) > self.MAX_KNOWN_IDS:
                    self.known_ids.clear()  # refills from the busiest accounts: memory bounded
                self.known_ids.update(uow.learned)
        finally:
            if queue is not None:
                queue.release()

    def transact(self, work: Callable[[UnitOfWork], T], *, what: str = "") -> T:
        """``work(uow)`` in a unit of work of its own, committed; after a serialization failure
        or a deadlock (PostgreSQL rolled it back whole) run again in a new one, with back-off,
        as ``retry_policy`` allows, then ``TransactionConflict`` (503). ``work`` may run more
        than once: it must only write to the database (no provider call before COMMIT)."""

        def once() -> T:
            with self.unit() as uow:
                return work(uow)

        return retrying(once, self.retry_policy, self.retry_stats,
                        what or getattr(work, "__qualname__", "transaction"))

    def close(self) -> None:
        """Stop the writer (after what is queued); the engine stays usable."""
        with self._group_lock:
            group, self._group = self._group, None
            remote, self._remote = self._remote, None
        if remote is not None:
            remote.close()
        if group is not None:
            group.close()

    def dispose(self) -> None:
        self.close()
        self.replica.dispose()
        self.engine.dispose()
