"""The writer in two stages on SQLite: a batch is decided while the one before is written.

``GroupWriter`` does everything on one thread: it reads what a batch needs, rates it, builds
its rows, then writes them and commits, and only then takes the next batch. On SQLite the
writing (the statements and COMMIT, inside SQLite's C code, which lets go of the GIL) is more
than half of that time, and nothing else happens meanwhile. ``PipelinedWriter`` splits it:

- *decide* (the writer's thread): a command kind that can be pipelined (``Pipelined``: the
  charging requests, charging/charges.py) reads in a read transaction of its own connection,
  rates, and returns its rows as data (``bulk.captured``), with the outcomes and the keys it
  touches (its sessions and lines); ids of new rows come from counters kept in memory over
  ``max(id)`` (``IdCounters``), and what the batches decided before is kept too
  (``Memory``), for the next decisions to read instead of the database;
- *write* (a second thread, with the writer's connection): ``BEGIN IMMEDIATE``, the captured
  statements, ``COMMIT``; only then are the batch's callers answered.

One batch is in flight at a time: the next is decided once the one before holds the write
lock, so the only writes a decision cannot see are those of the batch in flight. A command
whose session or line that batch touches makes the decision wait for its COMMIT and start
again (``InFlight``). Anything else that wrote meanwhile (another process, a unit of work of
this one) is seen at ``BEGIN IMMEDIATE`` by ``PRAGMA data_version`` (it changes when another
connection commits): the decided rows are then dropped, and the batch is applied the plain
way on the write thread's connection, as ``GroupWriter`` applies it (its retries and its one
by one fallback). A write that fails (a constraint, an id taken meanwhile, a full disk) is
rolled back and applied the same plain way: nothing of it was answered. Batches of a kind
that cannot be pipelined, mixed batches, and batches the kind finds unusual (``Unsuited``:
what its reference path handles) are applied plainly by the write thread too, the decision of
the next waiting for their COMMIT.

What the decisions keep (``Memory``) is the database as the decided batches leave it, and
holds only while they are the only writes: every other write (a plain batch, a decided one
found stale or failed) is followed by ``Memory.forget`` before the next decision starts, and
a decision that took what was kept when a batch in flight failed is written the plain way
(``_distrust``), its memory forgotten after it.

``TOPUP_WRITER_PIPELINE=process`` has a process of its own write the decided batches
(``ProcessPipelinedWriter``): their rows travel pickled, and binding their values takes none
of this interpreter's time; it compares ``data_version`` on its own connection.

PostgreSQL keeps ``GroupWriter``: there the batch's writes already travel in one pipelined
round trip and rows are locked, and one connection's snapshot is not another's.
``TOPUP_WRITER_PIPELINE=0`` turns this off on SQLite too.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Sequence, Set
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from topup.db.bulk import Step, run_steps
from topup.db.checkpoint import BACKSTOP_PAGES
from topup.db.engine import _changed as readonly_changed
from topup.db.group import GroupWriter, Reply, _settle

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from topup.db.uow import Database, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


class InFlight(Exception):
    """A command touches a session or a line the batch in flight writes: decide again once
    that batch has committed."""


class Unsuited(Exception):
    """The batch is for the plain path (the kind's reference path, an account not made
    yet)."""


@dataclass
class Decided:
    """A batch decided: each command's outcome, the writes in order, what it touches."""

    outcomes: list[Any]
    steps: list[Step]
    keys: frozenset[Hashable]


class Pipelined(Protocol):
    """A command kind whose batches can be decided apart from their writing."""

    def decide(self, uow: UnitOfWork, commands: Sequence[Any], busy: Set[Hashable],
               memory: Memory) -> Decided:
        """Read (``uow`` is read-only, ``memory`` what earlier decisions kept), rate and
        build the rows of ``commands`` without writing; raise ``InFlight`` when one touches
        a key in ``busy`` (before changing what is kept), ``Unsuited`` when the batch belongs
        to the plain path. A batch whose decision raises goes the plain way, which forgets
        what was kept."""
        ...


class IdCounters:
    """Ids for new rows, per table: past both the largest id a decision read and every id
    handed out before (rows of the batch in flight, which the decision cannot see)."""

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def take(self, table: str, largest: int, count: int) -> range:
        start = max(largest, self._last.get(table, 0))
        self._last[table] = start + count
        return range(start + 1, start + 1 + count)


class Memory:
    """What one writer's decisions keep between batches: the ids handed out (``ids``, kept
    for good) and each kind's own part (``part``): the rows as the decided batches left them,
    read instead of the database. A part holds while the decided batches are the only
    writes: the writer calls ``forget`` after any other write, before the next decision; a
    decision under way keeps the part it took, and its batch goes the plain way."""

    def __init__(self) -> None:
        self.ids = IdCounters()
        self.forgotten = 0  # times something kept was dropped
        self._parts: dict[Hashable, Any] = {}

    def part(self, key: Hashable, make: Callable[[], T]) -> T:
        """The part kept under ``key`` (a kind), made empty when there is none."""
        found = self._parts.get(key)
        if found is None:
            found = self._parts[key] = make()
        return found

    def forget(self) -> None:
        if self._parts:
            self.forgotten += 1
        self._parts = {}  # a new dict: a decision under way writes into the old part only


@dataclass(eq=False)
class _Item:
    batch: list[tuple[Any, Reply]]
    decided: Decided | None  # None: applied the plain way
    begun: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)


class _Stale(Exception):
    """Another connection committed since the decision read."""


class PipelinedWriter(GroupWriter):
    """``GroupWriter`` with the writing on a thread of its own (see the module docstring)."""

    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self.memory = Memory()
        self.pipelined = 0  # batches written as decided
        self.replayed = 0  # decided batches dropped and applied the plain way
        self.waited = 0  # decisions that waited for the batch in flight (``InFlight``)
        # seconds spent deciding (the writer's thread) and writing decided batches (the
        # second thread): each stage's share, whose larger one bounds the pace
        self.deciding = 0.0
        self.writing = 0.0
        self._local = threading.local()
        self._slot: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._last: _Item | None = None  # the batch handed last
        self._reader: Connection | None = None
        self._version: int | None = None  # data_version as of the write thread's last COMMIT
        self._pipe_thread = threading.Thread(target=self._write_loop,
                                             name="topup-writer-commit", daemon=True)
        super().__init__(db, max_batch)
        self._pipe_thread.start()

    # Each thread times its own batches for ``stats``.
    @property
    def _started(self) -> float:
        return float(getattr(self._local, "started", 0.0))

    @_started.setter
    def _started(self, value: float) -> None:
        self._local.started = value

    def status(self) -> dict[str, Any]:
        out = super().status()
        out.update(pipeline="thread", pipelined=self.pipelined, replayed=self.replayed,
                   waited=self.waited, forgotten=self.memory.forgotten,
                   deciding_seconds=round(self.deciding, 6),
                   writing_seconds=round(self.writing, 6))
        return out

    # --- the deciding thread (GroupWriter's) -----------------------------------------------
    def _commit(self, batch: list[tuple[Any, Reply]]) -> None:
        began = time.perf_counter()
        decided = self._decide(batch)
        self.deciding += time.perf_counter() - began
        item = _Item(batch, decided)
        self._last = item
        self._slot.put(item)
        (item.begun if decided is not None else item.done).wait()

    def _decide(self, batch: list[tuple[Any, Reply]]) -> Decided | None:
        commands = [cmd for cmd, _ in batch]
        kind = commands[0].kind
        decide = getattr(kind, "decide", None)
        if decide is None or any(cmd.kind is not kind for cmd in commands):
            return None
        for _ in range(2):
            last = self._last
            busy = last.decided.keys if last is not None and last.decided is not None \
                and not last.done.is_set() else frozenset()
            try:
                with self.db.unit(readonly=True, on=self._reading()) as uow:
                    decided: Decided = decide(uow, commands, busy, self.memory)
                return decided
            except InFlight:
                self.waited += 1
                if last is not None:
                    last.done.wait()
            except Unsuited:
                return None
            except Exception:
                log.warning("deciding a batch of %d failed; applying it the plain way",
                            len(batch), exc_info=True)
                self._drop_reader()
                return None
        return None

    def _reading(self) -> Connection:
        if self._reader is None or self._reader.closed:
            self._reader = self.db.engine.connect()
        return self._reader

    def _drop_reader(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def _idle(self) -> None:
        self._drop_reader()  # the write thread gives its own back when idle

    def _serve(self) -> None:
        try:
            super()._serve()
        finally:
            self._slot.put(None)
            self._pipe_thread.join()
            self._drop_reader()

    # --- the writing thread -----------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            try:
                item = self._slot.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                self._drop_connection()
                continue
            if item is None:
                return
            self._started = time.perf_counter()
            try:
                if item.decided is None:
                    self._plain(item)
                else:
                    self._write(item, item.decided)
            except BaseException as exc:  # never leave a caller waiting forever
                log.exception("writer batch failed")
                self._count(item.batch)
                _settle([(reply, exc) for _, reply in item.batch])
            finally:
                item.begun.set()
                item.done.set()

    def _drop_connection(self) -> None:
        super()._drop_connection()
        self._version = None

    def _plain(self, item: _Item) -> None:
        """``GroupWriter``'s way; the next decision starts after its COMMIT, from the
        database: what the decisions kept is forgotten."""
        try:
            super()._commit(item.batch)
        finally:
            self.memory.forget()
            self._rebase()

    def _rebase(self) -> None:
        """Take what the database holds now as what the next decision reads (it starts after
        this): ``data_version`` as the write thread's connection sees it."""
        self._version = self._data_version()

    def _distrust(self) -> None:
        """Send the next decided batch the plain way whatever ``data_version`` says."""
        self._version = None

    def _data_version(self) -> int | None:
        if self._conn is None or self._conn.closed:
            return None
        try:
            driver: Any = self._conn.connection.driver_connection
            return int(driver.execute("PRAGMA data_version").fetchone()[0])
        except Exception:
            self._drop_connection()
            return None

    def _write(self, item: _Item, decided: Decided) -> None:
        try:
            began = time.perf_counter()
            self._write_decided(item, decided)
            self.writing += time.perf_counter() - began
        except _Stale:
            self.replayed += 1
            self._plain(item)
            return
        except Exception:
            self.replayed += 1
            log.warning("a decided batch of %d failed to write; applying it the plain way",
                        len(item.batch), exc_info=True)
            self._plain(item)
            # The next batch may have been decided already, from a snapshot that a write
            # between this ROLLBACK and the plain BEGIN would not be in, and from what this
            # batch's decision kept: it goes plain too.
            self._distrust()
            return
        self.pipelined += 1
        if self._checkpoints is not None:
            self._checkpoints.poke()
        self._count(item.batch)
        _settle([(reply, outcome)
                 for (_, reply), outcome in zip(item.batch, decided.outcomes, strict=True)])

    def _write_decided(self, item: _Item, decided: Decided) -> None:
        conn = self._connection()
        driver: Any = conn.connection.driver_connection
        if readonly_changed(conn, False):  # a pooled connection last used read-only
            driver.execute("PRAGMA query_only=0")
        gate = self.db._writers
        if gate is not None:
            gate.acquire(self.db.WRITE_WAIT_SECONDS)
        try:
            driver.execute("BEGIN IMMEDIATE")
            try:
                version = int(driver.execute("PRAGMA data_version").fetchone()[0])
                if version != self._version:
                    raise _Stale()
                item.begun.set()  # the next decision may read: nobody else can write now
                run_steps(driver, decided.steps)
                driver.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.execute("ROLLBACK")
                raise
        finally:
            if gate is not None:
                gate.release()


class ProcessPipelinedWriter(PipelinedWriter):
    """``PipelinedWriter`` whose decided batches are written by a process of its own
    (``TOPUP_WRITER_PIPELINE=process``): the rows travel to it pickled, and its SQLite work
    and the binding of their values take nothing of this interpreter's time. The plain way
    stays on the write thread's connection, here; the process compares ``data_version`` on
    its own connection, taken again after each plain batch (``_rebase``)."""

    def __init__(self, db: Database, max_batch: int = 256) -> None:
        context = multiprocessing.get_context("spawn")
        self._link, theirs = context.Pipe()
        self._process = context.Process(target=_write_server,
                                         args=(str(db.engine.url.database), theirs),
                                         name="topup-writer-commit", daemon=True)
        self._process.start()
        theirs.close()
        self._trusted = False
        super().__init__(db, max_batch)

    def status(self) -> dict[str, Any]:
        out = super().status()
        out["pipeline"] = "process"
        return out

    def _rebase(self) -> None:
        try:
            self._link.send(("sync", None))
            self._trusted = self._link.recv() == "ok"
        except (OSError, EOFError):
            log.warning("the pipelined writer's process is gone; writing the plain way")
            self._trusted = False

    def _distrust(self) -> None:
        self._trusted = False

    def _drop_connection(self) -> None:
        GroupWriter._drop_connection(self)  # the process keeps its own connection and version

    def _write_decided(self, item: _Item, decided: Decided) -> None:
        if not self._trusted:
            raise _Stale()
        gate = self.db._writers
        if gate is not None:
            gate.acquire(self.db.WRITE_WAIT_SECONDS)
        try:
            self._link.send(("write", decided.steps))
            answer = self._link.recv()
            if answer == "stale":
                raise _Stale()
            if answer != "begun":
                raise RuntimeError(f"the writer process: {answer}")
            item.begun.set()
            answer = self._link.recv()
            if answer != "done":
                raise RuntimeError(f"the writer process: {answer}")
        except (OSError, EOFError):
            self._trusted = False
            raise
        finally:
            if gate is not None:
                gate.release()

    def _serve(self) -> None:
        try:
            super()._serve()
        finally:
            with contextlib.suppress(OSError):
                self._link.send(None)
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
            self._link.close()


def _write_server(path: str, link: Any) -> None:
    """The writer process's loop: ``("sync", None)`` takes ``data_version`` as it is now;
    ``("write", steps)`` opens a write transaction, answers ``stale`` (and rolls back) when
    another connection committed since the last sync, else ``begun``, then runs the steps
    and commits: ``done``, or ``failed: …`` rolled back. ``None`` ends it."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                   "busy_timeout=30000", f"wal_autocheckpoint={BACKSTOP_PAGES}"):
        conn.execute(f"PRAGMA {pragma}")

    def version() -> int:
        return int(conn.execute("PRAGMA data_version").fetchone()[0])

    seen: int | None = None
    try:
        while (message := link.recv()) is not None:
            what, steps = message
            if what == "sync":
                seen = version()
                link.send("ok")
                continue
            try:
                conn.execute("BEGIN IMMEDIATE")
                if version() != seen:
                    conn.execute("ROLLBACK")
                    link.send("stale")
                    continue
                link.send("begun")
                run_steps(conn, steps)
                conn.execute("COMMIT")
                link.send("done")
            except Exception as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                link.send(f"failed: {exc!r}")
    except (EOFError, OSError):
        pass  # the writer went away
    finally:
        conn.close()


PIPELINES: dict[str, type[GroupWriter]] = {"thread": PipelinedWriter,
                                           "process": ProcessPipelinedWriter}
"""The writer each ``TOPUP_WRITER_PIPELINE`` value gives on SQLite (``off``: none here)."""
