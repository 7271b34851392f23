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
- anything else raised while applying, or a COMMIT that fails (a deadlock, a serialization
  failure, a full disk), rolls the whole batch back, and each of its commands is applied again
  alone, in a transaction of its own: one bad command cannot sink the others, and nobody is
  answered with something that was not committed;
- a batch that gets no write slot in time (SQLite, ``DatabaseBusy``) was not applied at all:
  all its commands are answered 503 at once rather than each waiting as long again alone;
- a writer that is closed refuses new commands with ``WriterClosed`` (503); commands already
  queued are still applied.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from topup.db.writer import DatabaseBusy
from topup.errors import TopupError

if TYPE_CHECKING:
    from topup.db.uow import Database, UnitOfWork

log = logging.getLogger(__name__)
T = TypeVar("T")


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

    def __init__(self, db: Database, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._queue: deque[tuple[Any, Future[Any]]] = deque()
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="topup-writer", daemon=True)
        self._thread.start()

    # --- callers -------------------------------------------------------------------------
    def submit(self, command: Any) -> Future[Any]:
        """Queue ``command``; the future holds its result once the batch has committed."""
        future: Future[Any] = Future()
        with self._wake:
            if self._closed:
                raise WriterClosed("the writer is stopping")
            self._queue.append((command, future))
            self._wake.notify()
        return future

    async def run(self, command: Any) -> Any:
        """Submit and wait without blocking the event loop; raises what refused it."""
        return await asyncio.wrap_future(self.submit(command))

    def call(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work(uow)`` in the next batch (under a savepoint) and wait for the commit."""
        result: T = self.submit(_Work(work)).result()
        return result

    async def call_async(self, work: Callable[[UnitOfWork], T]) -> T:
        """``call`` for async code."""
        result: T = await self.run(_Work(work))
        return result

    def close(self, timeout: float = 30.0) -> None:
        """Apply what is queued, then stop the thread."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # --- the thread ----------------------------------------------------------------------
    def _take(self) -> list[tuple[Any, Future[Any]]] | None:
        with self._wake:
            while not self._queue:
                if self._closed:
                    return None
                self._wake.wait()
            count = min(len(self._queue), self.max_batch)
            return [self._queue.popleft() for _ in range(count)]

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            try:
                self._commit(batch)
            except BaseException as exc:  # never leave a caller waiting forever
                log.exception("writer batch failed")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)

    def _commit(self, batch: list[tuple[Any, Future[Any]]]) -> None:
        entered = False
        try:
            with self.db.unit() as uow:
                entered = True
                outcomes = _apply(uow, [cmd for cmd, _ in batch])
        except Exception as exc:
            if isinstance(exc, DatabaseBusy) and not entered:
                # no write slot: nothing was applied, and alone each would wait as long again
                for _, future in batch:
                    future.set_exception(exc)
                return
            if len(batch) == 1:
                raise
            log.warning("batch of %d rolled back; applying its commands one by one",
                        len(batch), exc_info=True)
            for item in batch:
                self._commit_alone(item)
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)

    def _commit_alone(self, item: tuple[Any, Future[Any]]) -> None:
        command, future = item
        try:
            with self.db.unit() as uow:
                (outcome,) = _apply(uow, [command])
        except BaseException as exc:
            future.set_exception(exc)
            return
        _settle(future, outcome)


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


def _settle(future: Future[Any], outcome: Any) -> None:
    if isinstance(outcome, TopupError):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
