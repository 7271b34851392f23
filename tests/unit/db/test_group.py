"""The group-committing writer: many commands, one COMMIT, answers only after it; a refusal
fails alone, a serialization failure or a deadlock (forced on the real PostgreSQL) applies
the batch again whole after a pause, and 503s it when the tries run out, anything else (in a
kind's apply or at COMMIT) sends each command through alone; a closed writer refuses new
commands but finishes the queued ones; ids learned in a rolled back savepoint are never
remembered."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from tests.conflicts import Crossed, forced
from tests.factories import WRITER_WAIT as WAIT
from tests.factories import writer_commits
from tests.factories import writer_held as held
from topup.audit.tables import audit_log
from topup.catalog import pricing
from topup.db.group import WriterClosed, _Work
from topup.db.retry import RetryPolicy, TransactionConflict
from topup.db.uow import Database, UnitOfWork
from topup.db.writer import DatabaseBusy
from topup.demo.catalog import seed_catalog
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.ledger.accounts import REVENUE
from topup.ledger.tables import accounts


@dataclass(frozen=True)
class Note:
    """A command that writes one audit entry named ``name``."""

    name: str

    @property
    def kind(self) -> _Notes:
        return NOTES


class _Notes:
    """Writes every note of a batch with one statement; remembers the batch sizes."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def apply(self, uow: UnitOfWork, commands: Sequence[Note]) -> list[Any]:
        self.batches.append(len(commands))
        uow.conn.execute(insert(audit_log), [
            {"at": uow.now, "actor_id": None, "action": "test.note", "target": c.name,
             "reason": None, "data": {}} for c in commands])
        return [c.name for c in commands]


NOTES = _Notes()


@dataclass(frozen=True)
class BreaksAtCommit:
    """A command whose writes are accepted now and refused by the database at COMMIT."""

    @property
    def kind(self) -> _BreaksAtCommit:
        return BREAKS_AT_COMMIT


class _BreaksAtCommit:
    def apply(self, uow: UnitOfWork, commands: Sequence[BreaksAtCommit]) -> list[Any]:
        if uow.dialect == "sqlite":  # foreign keys checked only at COMMIT, for this transaction
            uow.conn.execute(text("PRAGMA defer_foreign_keys = ON"))
            uow.conn.execute(insert(audit_log).values(
                at=uow.now, actor_id=987654321, action="test.orphan", target="nobody", data={}))
        else:  # a deferred UNIQUE constraint: two equal rows are fine until COMMIT
            uow.conn.execute(text(
                "CREATE TEMP TABLE commit_check (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) "
                "ON COMMIT DROP"))
            uow.conn.execute(text("INSERT INTO commit_check VALUES (1), (1)"))
        return [None] * len(commands)


BREAKS_AT_COMMIT = _BreaksAtCommit()


@pytest.fixture(autouse=True)
def stop_writer(db: Database) -> Iterator[None]:
    """Each test's writer thread ends with the test."""
    yield
    db.writer.close()


@pytest.fixture
def commits(db: Database) -> Iterator[list[str]]:
    with writer_commits(db) as seen:
        yield seen


def notes_in_db(db: Database) -> set[str]:
    with db.unit(readonly=True) as uow:
        return set(uow.conn.execute(select(audit_log.c.target).where(
            audit_log.c.action == "test.note")).scalars())


def outcome(future: Future[Any]) -> Any:
    """The future's result, or the exception it holds."""
    try:
        return future.result(WAIT)
    except Exception as exc:
        return exc


def refused(uow: UnitOfWork) -> None:
    uow.conn.execute(insert(audit_log).values(
        at=uow.now, actor_id=None, action="test.note", target="refused", data={}))
    raise InvalidInput("no, this one is refused")


def note(name: str) -> Any:
    def work(uow: UnitOfWork) -> str:
        uow.conn.execute(insert(audit_log).values(
            at=uow.now, actor_id=None, action="test.note", target=name, data={}))
        return name
    return work


def test_a_batch_commits_once_and_answers_only_after_the_commit(
        db: Database, commits: list[str]) -> None:
    NOTES.batches.clear()
    visible_on_answer: dict[str, bool] = {}
    checked = threading.Semaphore(0)

    def on_answer(name: str) -> Any:
        def check(_: Future[Any]) -> None:  # runs in the writer's thread as the future resolves
            visible_on_answer[name] = name in notes_in_db(db)
            checked.release()
        return check

    with held(db):
        futures = [db.writer.submit(Note(f"n{i}")) for i in range(40)]
        for i, f in enumerate(futures):
            f.add_done_callback(on_answer(f"n{i}"))
        assert not any(f.done() for f in futures)
    assert [f.result(WAIT) for f in futures] == [f"n{i}" for i in range(40)]
    assert NOTES.batches == [40]
    assert commits == ["commit", "commit"]  # the gate's batch, then all 40 at once
    assert all(checked.acquire(timeout=WAIT) for _ in futures)
    assert visible_on_answer == {f"n{i}": True for i in range(40)}


def test_a_refused_command_fails_alone_and_its_batch_commits(
        db: Database, commits: list[str]) -> None:
    with held(db):
        futures = [db.writer.submit(_Work(w)) for w in (note("a"), refused, note("b"))]
    a, no, b = (outcome(f) for f in futures)
    assert (a, b) == ("a", "b")
    assert isinstance(no, InvalidInput)
    assert notes_in_db(db) == {"a", "b"}, "the refused command's own write is undone"
    assert commits == ["commit", "commit"]


def test_an_unexpected_error_rolls_the_batch_back_and_each_command_goes_alone(
        db: Database, commits: list[str]) -> None:
    def broken(uow: UnitOfWork) -> None:
        note("broken")(uow)
        raise RuntimeError("a bug, not a refusal")

    with held(db):
        futures = [db.writer.submit(_Work(w)) for w in (note("a"), broken, note("b"))]
        futures.append(db.writer.submit(Note("c")))
    a, bad, b, c = (outcome(f) for f in futures)
    assert (a, b, c) == ("a", "b", "c")
    assert isinstance(bad, RuntimeError)
    assert notes_in_db(db) == {"a", "b", "c"}
    # the gate, then no commit for the batch, then a, b and c each in a transaction alone
    assert commits == ["commit"] * 4


def test_a_failing_commit_sends_each_command_alone_and_only_the_culprit_fails(
        db: Database, commits: list[str]) -> None:
    with held(db):
        futures = [db.writer.submit(Note("a")), db.writer.submit(BreaksAtCommit()),
                   db.writer.submit(Note("b"))]
    a, bad, b = (outcome(f) for f in futures)
    assert (a, b) == ("a", "b")
    assert isinstance(bad, IntegrityError)
    assert notes_in_db(db) == {"a", "b"}
    # the gate; the batch and the culprit alone each tried to COMMIT and failed; a and b alone
    assert len(commits) == 1 + 2 + 2
    assert db.writer.call(note("after")) == "after", "the writer carries on"


def test_a_closed_writer_refuses_new_commands_and_still_applies_queued_ones(
        db: Database) -> None:
    writer = db.writer
    with held(db):
        queued = [writer.submit(Note(f"q{i}")) for i in range(3)]
        writer.close(timeout=0)  # do not wait here: the gate still holds the thread
        with pytest.raises(WriterClosed):
            writer.submit(Note("late"))
    assert [f.result(WAIT) for f in queued] == ["q0", "q1", "q2"]
    writer._thread.join(WAIT)
    assert not writer._thread.is_alive()
    assert notes_in_db(db) == {"q0", "q1", "q2"}


def test_an_account_made_in_a_rolled_back_savepoint_is_not_remembered(db: Database) -> None:
    def keep(uow: UnitOfWork) -> int:
        return ledger.open_account(uow, "test:kept", "money:CNY", REVENUE)

    def make_then_refuse(uow: UnitOfWork) -> None:
        ledger.open_account(uow, "test:undone", "money:CNY", REVENUE)
        raise InvalidInput("refused after opening an account")

    def open_again(uow: UnitOfWork) -> int:
        return ledger.open_account(uow, "test:undone", "money:CNY", REVENUE)

    with held(db):
        futures = [db.writer.submit(_Work(w)) for w in (keep, make_then_refuse)]
    kept, no = (outcome(f) for f in futures)
    assert isinstance(no, InvalidInput)
    assert db.known_ids.get("test:kept") == kept
    assert "test:undone" not in db.known_ids
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(func.count()).where(
            accounts.c.key == "test:undone")).scalar_one() == 0

    with held(db):  # in one batch: made, undone, made again: the second id is the real one
        futures = [db.writer.submit(_Work(w)) for w in (make_then_refuse, open_again)]
    no, again = (outcome(f) for f in futures)
    with db.unit(readonly=True) as uow:
        real = uow.conn.execute(select(accounts.c.id).where(
            accounts.c.key == "test:undone")).scalar_one()
    assert isinstance(no, InvalidInput)
    assert again == real == db.known_ids["test:undone"]


def test_ids_learned_by_a_batch_that_rolls_back_are_not_remembered(db: Database) -> None:
    def make_then_break(uow: UnitOfWork) -> None:
        ledger.open_account(uow, "test:broken", "money:CNY", REVENUE)
        raise RuntimeError("a bug")

    with held(db):
        futures = [db.writer.submit(_Work(make_then_break)), db.writer.submit(Note("ok"))]
    bad, ok = (outcome(f) for f in futures)
    assert isinstance(bad, RuntimeError) and ok == "ok"
    assert "test:broken" not in db.known_ids


def test_a_read_remembered_in_a_rolled_back_savepoint_is_forgotten(db: Database) -> None:
    with db.unit() as uow:
        seed_catalog(uow)
        before = pricing.topup_limit(uow, "TH", "CNY")

    def change_read_then_refuse(uow: UnitOfWork) -> None:
        pricing.set_topup_limit(uow, "TH", "CNY", 1, 7_77)
        assert pricing.topup_limit(uow, "TH", "CNY") == (1, 7_77)
        raise InvalidInput("refused after reading its own, undone, change")

    def read(uow: UnitOfWork) -> tuple[int, int]:
        return pricing.topup_limit(uow, "TH", "CNY")

    with held(db):
        futures = [db.writer.submit(_Work(w)) for w in (change_read_then_refuse, read)]
    no, seen = (outcome(f) for f in futures)
    assert isinstance(no, InvalidInput)
    assert seen == before, "the later command sees the committed limit, not the undone one"


def test_a_batch_takes_at_most_writer_max_batch_commands(db: Database) -> None:
    db.settings = replace(db.settings, writer_max_batch=4)
    NOTES.batches.clear()
    with held(db):
        futures = [db.writer.submit(Note(f"n{i}")) for i in range(10)]
    assert [f.result(WAIT) for f in futures] == [f"n{i}" for i in range(10)]
    assert NOTES.batches == [4, 4, 2]


def test_commands_of_several_kinds_in_one_batch_each_get_their_own_answer(
        db: Database, commits: list[str]) -> None:
    with held(db):
        futures = [db.writer.submit(Note("a")), db.writer.submit(_Work(note("b"))),
                   db.writer.submit(_Work(refused)), db.writer.submit(Note("d"))]
    answers = [outcome(f) for f in futures]
    assert answers[:2] == ["a", "b"] and answers[3] == "d"
    assert isinstance(answers[2], InvalidInput)
    assert commits == ["commit", "commit"]
    assert notes_in_db(db) == {"a", "b", "d"}


class _NoSlot:
    """A write gate that never opens in time: the SQLite slot held elsewhere all along."""

    def __init__(self) -> None:
        self.waits = 0

    def acquire(self, timeout: float) -> None:
        self.waits += 1
        raise DatabaseBusy(f"no write slot within {timeout:.0f} s")

    def release(self) -> None:
        raise AssertionError("never acquired")


def test_a_batch_that_gets_no_write_slot_is_answered_busy_at_once(db: Database) -> None:
    slot = _NoSlot()
    with held(db):
        db._writers = slot  # type: ignore[assignment]
        futures = [db.writer.submit(Note(f"n{i}")) for i in range(5)]
    answers = [outcome(f) for f in futures]
    assert all(isinstance(a, DatabaseBusy) for a in answers), answers
    assert slot.waits == 1, "nothing was applied: waiting again for each command is no use"

CONFLICT = "NEW.target = 'conflict'"


def broken(uow: UnitOfWork) -> None:
    note("broken")(uow)
    raise RuntimeError("a bug, not a refusal")


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_batch_aborted_by_a_serialization_failure_is_applied_again_whole(
        db: Database, commits: list[str]) -> None:
    with forced(db, "audit_log", times=2, when=CONFLICT) as raised:
        with held(db):
            futures = [db.writer.submit(Note("a")), db.writer.submit(_Work(note("conflict"))),
                       db.writer.submit(Note("b"))]
        answers = [outcome(f) for f in futures]
        assert raised() == 2
    assert answers == ["a", "conflict", "b"]
    assert notes_in_db(db) == {"a", "conflict", "b"}
    assert commits == ["commit", "commit"], "the gate, then the batch once, on its third try"
    status = db.local_writer.status()
    assert status["conflict_retries"]["serialization_failure"] == 2
    assert status["retried"] == 0, "never split into commands one by one"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_command_alone_after_its_batch_broke_is_retried_on_a_deadlock(db: Database) -> None:
    with forced(db, "audit_log", times=1, errcode="40P01", when=CONFLICT) as raised:
        with held(db):  # the bug comes first: the batch fails before "conflict" is written
            futures = [db.writer.submit(_Work(w)) for w in (broken, note("conflict"))]
        bad, ok = (outcome(f) for f in futures)
        assert raised() == 1
    assert isinstance(bad, RuntimeError) and ok == "conflict"
    assert notes_in_db(db) == {"conflict"}
    status = db.local_writer.status()
    assert status["retried"] == 1 and status["conflict_retries"]["deadlock_detected"] == 1


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_a_batch_that_conflicts_on_every_try_is_answered_503_and_writes_nothing(
        db: Database) -> None:
    db.retry_policy = RetryPolicy(attempts=3, seconds=2.0, cap=0.05)
    with forced(db, "audit_log", times=1000, when=CONFLICT) as raised:
        with held(db):
            futures = [db.writer.submit(Note("a")), db.writer.submit(_Work(note("conflict"))),
                       db.writer.submit(Note("b"))]
        answers = [outcome(f) for f in futures]
        assert raised() == 3
    assert all(isinstance(a, TransactionConflict) for a in answers), answers
    assert {(a.status, a.extra["retry_after"]) for a in answers} == {(503, 1)}
    assert notes_in_db(db) == set()
    assert db.local_writer.status()["conflicts_given_up"] == 1
    assert db.writer.call(note("after")) == "after", "the writer carries on"


@pytest.mark.postgres
@pytest.mark.parametrize("backend", ["postgres"])
def test_two_nodes_writers_locking_crossing_rows_deadlock_once_and_both_commit(
        db: Database) -> None:
    """Two writers (two nodes) each take two rows in opposite order: PostgreSQL breaks the
    cycle with 40P01, the victim's batch is applied again and both commands commit once."""
    second = Database(db.engine, db.settings, db.clock)
    first_ids = [db.writer.call(note(f"row{i}")) for i in range(2)]
    with db.unit(readonly=True) as uow:
        rows = {r.target: r.id for r in uow.conn.execute(select(
            audit_log.c.target, audit_log.c.id).where(audit_log.c.target.in_(first_ids)))}
    crossing = Crossed("audit_log", rows["row0"], rows["row1"])

    def side(i: int) -> Any:
        def work(uow: UnitOfWork) -> str:
            crossing.lock(uow, i)
            return str(note(f"side{i}")(uow))
        return _Work(work)

    try:
        futures = [db.writer.submit(side(0)), second.writer.submit(side(1))]
        answers = [outcome(f) for f in futures]
        victims = [w.status()["conflict_retries"]["deadlock_detected"]
                   for w in (db.local_writer, second.local_writer)]
    finally:
        second.close()
    assert answers == ["side0", "side1"]
    assert sorted(crossing.tries) == [1, 2] and sorted(victims) == [0, 1]
    assert notes_in_db(db) == {"row0", "row1", "side0", "side1"}
