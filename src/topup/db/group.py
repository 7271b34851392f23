"""One writer per database that group-commits: many commands, one transaction, one COMMIT.

Commands that move value (top-ups, credits, purchases, usage) are handed to ``GroupWriter``
instead of each opening a unit of work. Its thread takes whatever is waiting, up to
``max_batch``, and applies it in one transaction: commands of one kind are applied together by
that kind's ``apply`` (one read of what they all need, multi-row writes), and a batch forms
while the previous one commits, so no timer is needed. Every caller's answer is released only
after COMMIT has returned: a 201 is durable.

Failure modes, each tested in tests/unit/db/test_group.py:
- a command refused by the domain (any ``TopupError``: limits, insufficient funds, a frozen
  line) fails alone; its kind's ``apply`` writes nothing for it (validation before writing, or
  a savepoint), and the rest of the batch commits;
- a serialization failure or a deadlock (SQLSTATE 40001, 40P01: PostgreSQL broke a tie with
  another transaction, another node's writer say) while applying or at COMMIT rolls the batch
  back, and the same batch is applied again whole after a pause with jitter, as the database's
  ``RetryPolicy`` allows (``topup.db.retry``); a command alone is retried the same way; when the
  tries run out, every command of it is answered ``TransactionConflict`` (503 with
  Retry-After), none of them written;
- anything else raised while applying, or a COMMIT that fails otherwise (a constraint checked
  at COMMIT, a full disk), rolls the whole batch back, and each of its commands is applied
  again alone, in a transaction of its own: one bad command cannot sink the others, and nobody
  is answered with something that was not committed;
- a batch that gets no write slot in time (SQLite, ``DatabaseBusy``) was not applied at all:
  all its commands are answered 503 at once rather than each waiting as long again alone;
- a writer that is closed refuses new commands with ``WriterClosed`` (503); commands already
  queued are still applied; a full queue (``QUEUE_BATCHES`` batches waiting) refuses new ones
  with ``DatabaseBusy`` (503).

A COMMIT whose outcome is unknown (the connection lost during it) is treated as failed and
its commands applied again one by one: commands must be idempotent (``TopUp`` is, by its
Idempotency-Key; a ``call`` must be too).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from topup.db.bulk import OWN_BEGIN, own_begin_done
from topup.db.checkpoint import BACKSTOP_PAGES, Checkpointer
from topup.db.retry import Attempts, RetryStats, TransactionConflict
from topup.db.writer import DatabaseBusy
from topup.errors import TopupError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from topup.db.uow import Database, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")
QUEUE_BATCHES = 64  # the queue holds at most this many full batches
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # batch sizes counted in /metrics


class WriterStats:
    """What a writer did since it started, for /healthz and /metrics: batches committed,
    commands in them, batches rolled back and retried one by one, batches and lone commands
    run again after a serialization failure or a deadlock (``conflicts``, by SQLSTATE, and
    the times the tries ran out), seconds spent applying and committing them, and how many
    batches fell at most into each of ``SIZE_BUCKETS``. Only the writer thread changes it."""

    def __init__(self) -> None:
        self.batches = 0
        self.commands = 0
        self.retried = 0
        self.conflicts = RetryStats()
        self.seconds = 0.0
        self.sizes = [0] * len(SIZE_BUCKETS)

    def count(self, size: int, seconds: float) -> None:
        self.batches += 1
        self.commands += size
        self.seconds += seconds
        for i, bound in enumerate(SIZE_BUCKETS):
            if size <= bound:
                self.sizes[i] += 1
                break


class WriterClosed(TopupError):
    """Raised when a command reaches a writer that is shutting down."""

    code = "service_stopping"
    status = 503
    title = "The service is restarting; please retry"


class Kind(Protocol):
    """How commands of one kind are applied together inside the batch's transaction.

    ``apply`` returns one outcome per command, in order: a result, or the ``TopupError`` that
    refused that command (after making sure nothing of it was written). Any other exception
    means the batch is unusable and is retried command by command."""

    def apply(self, uow: UnitOfWork, commands: Sequence[Any]) -> list[Any]: ...


class Command(Protocol):
    """Anything with a ``kind`` can be submitted."""

    @property
    def kind(self) -> Kind: ...


class _Work:
    """A command that is a function of a unit of work: applied under its own savepoint."""

    def __init__(self, work: Callable[[UnitOfWork], Any]) -> None:
        self.work = work

    @property
    def kind(self) -> Kind:
        return SAVEPOINTS


class _Savepoints:
    """Applies ``_Work`` commands one after the other, each under a savepoint, so a refusal
    undoes exactly that command's writes."""

    def apply(self, uow: UnitOfWork, commands: Sequence[Any]) -> list[Any]:
        out: list[Any] = []
        for cmd in commands:
            try:
                with uow.savepoint():
                    out.append(cmd.work(uow))
            except TopupError as exc:
                out.append(exc)
        return out


SAVEPOINTS = _Savepoints()


class GroupWriter:
    """The database's writer thread; ``submit`` from any thread, ``run`` from async code."""

    IDLE_SECONDS = 1.0  # a writer with nothing to do this long returns its connection

    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        # Beyond this many waiting commands a new one is refused at once (503) rather than
        # queued for longer than any client waits: memory and latency stay bounded.
        self.max_queue = QUEUE_BATCHES * max_batch
        self._queue: deque[tuple[Any, Reply]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._conn: Connection | None = None
        self._checkpoints = (Checkpointer(db.engine) if db.engine.dialect.name == "sqlite"
                             else None)
        self.stats = WriterStats()
        self._started = 0.0  # when the batch being applied was taken
        self._thread = threading.Thread(target=self._loop, name="topup-writer", daemon=True)
        self._thread.start()

    # --- callers -------------------------------------------------------------------------
    def submit(self, command: Any) -> Future[Any]:
        """Queue ``command``; the future holds its result once the batch has committed."""
        future: Future[Any] = Future()
        self.put(command, future)
        return future

    def put(self, command: Any, reply: Reply) -> None:
        """Queue ``command``; ``reply`` gets its outcome (see ``_settle``)."""
        with self._wake:
            if self._closed:
                raise WriterClosed("the writer is stopping")
            if len(self._queue) >= self.max_queue:
                raise DatabaseBusy(f"{len(self._queue)} commands are waiting to be written")
            self._queue.append((command, reply))
            self._wake.notify()

    async def run(self, command: Any) -> Any:
        """Submit and wait without blocking the event loop; raises what refused it. The
        answers of one batch reach an event loop in one call (not one wake-up each)."""
        reply = _Async(asyncio.get_running_loop())
        self.put(command, reply)
        return await reply.future

    def call(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work(uow)`` in the next batch (under a savepoint) and wait for the commit."""
        result: T = self.submit(_Work(work)).result()
        return result

    def status(self) -> dict[str, Any]:
        """Where commands are written and what this writer did (``WriterStats``), with the
        commands waiting now."""
        st = self.stats
        conflicts = st.conflicts.snapshot()
        return {"writer": "thread", "queued": len(self._queue), "max_batch": self.max_batch,
                "batches": st.batches, "commands": st.commands, "retried": st.retried,
                "conflict_retries": conflicts["retries"],
                "conflicts_given_up": conflicts["gave_up"],
                "seconds": round(st.seconds, 6), "sizes": dict(zip(SIZE_BUCKETS, st.sizes,
                                                                   strict=True))}

    async def report(self) -> dict[str, Any]:
        """``status``, awaited the way ``RemoteWriter.report`` is."""
        return self.status()

    def close(self, timeout: float = 30.0) -> None:
        """Apply what is queued, then stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # --- the thread ----------------------------------------------------------------------
    def _take(self) -> list[tuple[Any, Reply]] | None:
        with self._wake:
            while not self._queue:
                if self._closed:
                    return None
                if not self._wake.wait(self.IDLE_SECONDS):
                    self._idle()
            count = min(len(self._queue), self.max_batch)
            return [self._queue.popleft() for _ in range(count)]

    def _idle(self) -> None:
        """Nothing to do for ``IDLE_SECONDS``: give the connection back to the pool."""
        self._drop_connection()

    def _loop(self) -> None:
        try:
            self._serve()
        finally:
            self._drop_connection()
            if self._checkpoints is not None:
                self._checkpoints.close()

    def _serve(self) -> None:
        while (batch := self._take()) is not None:
            self._started = time.perf_counter()
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a caller waiting forever
                log.exception("writer batch failed")
                self._count(batch)
                _settle([(reply, exc) for _, reply in batch])

    def _count(self, batch: list[tuple[Any, Reply]]) -> None:
        """Count ``batch`` in ``stats`` before its callers hear back from it."""
        self.stats.count(len(batch), time.perf_counter() - self._started)

    def _connection(self) -> Connection:
        """The writer's own connection, kept open between batches (no checkout, no ping)."""
        if self._conn is None or self._conn.closed:
            self._conn = self.db.engine.connect()
            driver: Any = self._conn.connection.driver_connection  # outside a transaction
            if self._checkpoints is not None:  # db/checkpoint.py copies the log back
                driver.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            else:
                # The batch reads (keys, lines, accounts) would be prepared after a few runs
                # and then kept on a generic plan made while a table was small: a sequential
                # scan that grows with the table for as long as this connection lives (45 ms
                # a batch after one minute of top-ups). Plan each with its real parameters.
                # Behind a pooler in transaction mode nothing is prepared (db/engine.py), and
                # a session's SET would stay on a server connection that other clients get.
                if driver.prepare_threshold is not None:
                    driver.execute("SET plan_cache_mode = force_custom_plan")
                    driver.commit()
                self._conn.execution_options(**{OWN_BEGIN: True})  # see bulk.OWN_BEGIN
        return self._conn

    @contextmanager
    def _unit(self) -> Iterator[UnitOfWork]:
        """A unit of work on the writer's connection."""
        conn = self._connection()
        try:
            with self.db.unit(on=conn) as uow:
                yield uow
        finally:
            own_begin_done(conn)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()  # after a failure, start again from a fresh one
            self._conn = None

    def _attempts(self, size: int) -> Attempts:
        return Attempts(self.db.retry_policy, self.stats.conflicts,
                        f"writer batch of {size}" if size > 1 else "writer command")

    def _commit(self, batch: list[tuple[Any, Reply]]) -> None:
        attempts = self._attempts(len(batch))
        while True:
            entered = False
            try:
                with self._unit() as uow:
                    entered = True
                    outcomes = _apply(uow, [cmd for cmd, _ in batch])
                break
            except Exception as exc:
                self._drop_connection()
                if isinstance(exc, DatabaseBusy) and not entered:
                    # no write slot: nothing was applied, and alone each would wait as long again
                    self._count(batch)
                    _settle([(reply, exc) for _, reply in batch])
                    return
                answer = attempts.answer(exc)
                if answer is None:
                    continue  # rolled back whole by a conflict: the same batch, after a pause
                if isinstance(answer, TransactionConflict):
                    self._count(batch)
                    _settle([(reply, answer) for _, reply in batch])
                    return
                if len(batch) == 1:
                    raise
                log.warning("batch of %d rolled back; applying its commands one by one",
                            len(batch), exc_info=True)
                self.stats.retried += 1
                self._count(batch)
                for item in batch:
                    self._commit_alone(item)
                return
        if self._checkpoints is not None:
            self._checkpoints.poke()
        self._count(batch)
        _settle([(reply, outcome) for (_, reply), outcome in zip(batch, outcomes, strict=True)])

    def _commit_alone(self, item: tuple[Any, Reply]) -> None:
        command, reply = item
        attempts = self._attempts(1)
        while True:
            try:
                with self._unit() as uow:
                    (outcome,) = _apply(uow, [command])
                break
            except BaseException as exc:
                self._drop_connection()
                answer = attempts.answer(exc)
                if answer is not None:
                    outcome = answer
                    break
        _settle([(reply, outcome)])


def _apply(uow: UnitOfWork, commands: list[Any]) -> list[Any]:
    """Apply ``commands`` grouped by kind, keeping each command's outcome in its place."""
    by_kind: dict[int, tuple[Kind, list[int]]] = {}
    for index, cmd in enumerate(commands):
        by_kind.setdefault(id(cmd.kind), (cmd.kind, []))[1].append(index)
    outcomes: list[Any] = [None] * len(commands)
    for kind, indexes in by_kind.values():
        results = kind.apply(uow, [commands[i] for i in indexes])
        if len(results) != len(indexes):
            raise RuntimeError(f"{kind!r} answered {len(results)} of {len(indexes)} commands")
        for i, result in zip(indexes, results, strict=True):
            outcomes[i] = result
    return outcomes


class _Async:
    """An async caller's reply: its event loop and the future it awaits there."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def deliver(self, outcome: Any) -> None:
        _resolve(self.future, outcome)


class Delivered(Protocol):
    """A reply that lives on an event loop: ``deliver`` runs there (``_Async``, and the
    writer process's answers to API processes, db/remote.py)."""

    loop: asyncio.AbstractEventLoop

    def deliver(self, outcome: Any) -> None: ...


Reply = Future[Any] | Delivered


def _settle(pairs: list[tuple[Reply, Any]]) -> None:
    """Hand each outcome (a result, or the exception that refused the command) to its
    caller: threads directly, event loops with one call per loop and batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any]]] = {}
    for reply, outcome in pairs:
        if isinstance(reply, Future):
            _resolve(reply, outcome)
        else:
            by_loop.setdefault(reply.loop, []).append((reply, outcome))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_deliver_all, items)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.warning("answers for %d commands found their event loop closed", len(items))


def _deliver_all(items: list[tuple[Any, Any]]) -> None:
    for reply, outcome in items:
        reply.deliver(outcome)


def _resolve(future: Any, outcome: Any) -> None:
    if future.done():  # an async caller that was cancelled (the client went away)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
