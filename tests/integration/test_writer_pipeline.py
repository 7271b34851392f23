"""The pipelined writer (db/pipeline.py) on SQLite: decided rows are the applied rows, and each
hazard of deciding apart from writing ends as the plain writer would have ended it.

- ``CHARGES.decide`` then its captured writes give the answers and rows ``CHARGES.apply``
  gives (Hypothesis, the worlds and requests of test_charge_batch_property.py), with what
  the decisions keep carried from batch to batch and without;
- what the decisions keep is forgotten after a write they did not decide: the batch after
  the one replayed plainly sees it;
- a write by someone else between a batch's decision and its write (``data_version``): the
  decided rows are dropped and the batch applied plainly, seeing that write;
- a write that fails halfway: rolled back, applied plainly, every caller answered once;
- requests on a session or a line of the batch in flight wait for its COMMIT and see it;
- many sessions at once, with the pipeline and without: every answer, the books.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.charging_support import Batches, answer_and_write_alike
from tests.integration.test_charge_batch_property import _batches, _in_batches
from tests.integration.test_charge_batch_property import steps as drawn_steps
from tests.integration.test_usage_batch_property import LineSpec, WorldSpec, _build, worlds
from topup.channels.api.app import create_app
from topup.charging import charges
from topup.charging.charges import CHARGES, Charge
from topup.charging.sessions import QUOTA, Ask
from topup.charging.tables import charging_requests
from topup.clock import FrozenClock
from topup.db import group, pipeline
from topup.db.bulk import run_steps
from topup.db.pipeline import Memory, PipelinedWriter, Unsuited
from topup.db.uow import Database
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.subscribers import lines as line_svc

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # PostgreSQL keeps GroupWriter
WAIT = 30
DATA = (Ask(1, "data"),)  # the default quota: 10 MiB, 10 fen at the rate below


def _decided(db: Database, clock: FrozenClock, batches: Batches, *, keep: bool = True
             ) -> list[Any]:
    """Each batch decided in a read-only unit, its captured writes run in a write unit (the
    plain ``apply`` where the kind finds the batch unsuited, then what was kept forgotten),
    as the pipelined writer does; ``keep=False``: every batch decided from the database."""
    memory = Memory()
    out: list[Any] = []
    for cmds, move in batches:
        if not keep:
            memory.forget()
        try:
            with db.unit(readonly=True) as uow:
                decided = CHARGES.decide(uow, cmds, frozenset(), memory)
        except Unsuited:
            memory.forget()
            with db.unit() as uow:
                out.extend(CHARGES.apply(uow, cmds))
        else:
            with db.unit() as uow:
                run_steps(uow.conn.connection.driver_connection, decided.steps)
            out.extend(decided.outcomes)
        clock.now += move
    return out


@pytest.mark.parametrize("keep", [True, False], ids=["kept", "read"])
@settings(max_examples=12, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=worlds, drawn=drawn_steps)
def test_decided_batches_answer_and_write_as_applied_ones(
        fresh: Callable[[], Database], clock: FrozenClock, spec: WorldSpec,
        drawn: list[tuple[Any, ...]], keep: bool) -> None:
    answer_and_write_alike(fresh, clock, lambda db: _batches(_build(db, spec), drawn),
                           _in_batches, lambda *a: _decided(*a, keep=keep))


def _with_accounts(db: Database, spec: WorldSpec) -> list[line_svc.Line]:
    """The world with every account a charge moves made (a batch that would make one goes
    the plain way, and what was kept with it) and no identifier naming two lines."""
    made = _build(db, replace(spec, shared_number=False))
    with db.unit() as uow:
        for line in made:
            ledger.operator_account(uow, "revenue_usage", "money:CNY", line_id=line.id)
            for unit in ("data", "voice", "sms"):
                ledger.operator_account(uow, "consumed", unit, line_id=line.id)
    return made


# More sessions than lines, mostly updates, a batch cut often: a session comes back batch
# after batch, and new sessions open on lines whose books were kept.
long_steps = st.lists(st.tuples(
    st.integers(0, 5),
    st.sampled_from(["initial", "initial", "update", "update", "update", "update", "update",
                     "terminate", "event", "again", "changed", "stale"]),
    st.sampled_from([0, 1, 2, 0, 1, 2, 9]), st.sampled_from(["id", "iccid", "imsi", "+msisdn"]),
    st.sampled_from(["TH", "TH", "TH", "VN", "JP"]),
    st.lists(st.tuples(st.sampled_from([1, 2]), st.sampled_from(["data", "data", "voice"]),
                       st.sampled_from([0, 1, 600, 5000]),
                       st.sampled_from([None, None, 1, 700, 100_000])),
             min_size=1, max_size=2, unique_by=lambda a: a[0]),
    st.sampled_from([0, 1, 1, 2, 2, 3])), min_size=10, max_size=40)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=worlds.map(lambda w: replace(w, lines=tuple(replace(n, frozen=False)
                                                       for n in w.lines))),
       drawn=long_steps)
def test_long_runs_decided_from_what_was_kept_answer_and_write_as_applied_ones(
        fresh: Callable[[], Database], clock: FrozenClock, spec: WorldSpec,
        drawn: list[tuple[Any, ...]]) -> None:
    """Sessions asked again and again over many batches, each decided from what the one
    before kept: grants made in one batch closed in a later one, holds timing out, buckets
    started, balances running out."""
    answer_and_write_alike(fresh, clock, lambda db: _batches(_with_accounts(db, spec), drawn),
                           _in_batches, _decided)


# --- through the writer ---------------------------------------------------------------------

def _lines(db: Database, *money: int) -> list[line_svc.Line]:
    """Lines with ``money`` fen each, data out of bundle in Thailand at 1 fen a MiB."""
    return _build(db, WorldSpec(lines=tuple(LineSpec(money=m, frozen=False, buckets=())
                                            for m in money),
                                rates=(("TH", "data", 1, 1024 * 1024),), shared_number=False))


def _open(line: line_svc.Line, ref: str) -> Charge:
    return Charge(ref, 0, "initial", DATA, line_id=line.id, country="TH")


@pytest.fixture
def writer(db: Database) -> PipelinedWriter:
    w = db.writer
    assert isinstance(w, PipelinedWriter)
    return w


def _ready(db: Database, *money: int) -> list[line_svc.Line]:
    """``_lines`` with the accounts their charges credit made (a batch that would make an
    account goes the plain way), after a first batch through the writer (always applied
    plainly: nothing to compare ``data_version`` with yet)."""
    warm, *made = _lines(db, 0, *money)
    with db.unit() as uow:
        for line in made:
            ledger.operator_account(uow, "revenue_usage", "money:CNY", line_id=line.id)
    db.writer.submit(_open(warm, "warm-up")).result(WAIT)
    return made


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every (reply, outcome) any writer hands out."""
    seen: list[Any] = []

    def counting(real: Any) -> Any:
        def settle(pairs: list[tuple[Any, Any]]) -> None:
            seen.extend(pairs)
            real(pairs)
        return settle

    monkeypatch.setattr(group, "_settle", counting(group._settle))
    monkeypatch.setattr(pipeline, "_settle", counting(pipeline._settle))
    return seen


def _all_at_once(writer: PipelinedWriter, cmds: list[Charge]) -> list[Future[Any]]:
    """``cmds`` queued together: the writer takes them as one batch."""
    with writer._wake:  # the writer's thread waits on this lock to take what is queued
        return [writer.submit(c) for c in cmds]


@pytest.mark.parametrize("second", ["thread", "process"])
def test_a_write_between_decision_and_commit_sends_the_batch_the_plain_way(
        db: Database, second: str, monkeypatch: pytest.MonkeyPatch) -> None:
    db.settings = replace(db.settings, writer_pipeline=second)
    writer = db.writer
    assert isinstance(writer, PipelinedWriter)
    (line,) = _ready(db, 100)
    real = charges._Charges.decide

    def then_freeze(self: Any, uow: Any, *args: Any) -> Any:
        decided = real(self, uow, *args)  # granted: the line is in use …
        with db.unit() as other:  # … and another connection freezes it meanwhile
            line_svc.freeze(other, line.id, actor=None, reason="suspected fraud")
        return decided

    monkeypatch.setattr(charges._Charges, "decide", then_freeze)
    before = writer.status()
    with pytest.raises(TopupError) as refused:
        writer.submit(_open(line, "s1")).result(WAIT)
    assert "frozen" in str(refused.value).lower() or "frozen" in refused.value.code
    after = writer.status()
    assert (after["replayed"], after["pipelined"]) == (before["replayed"] + 1,
                                                       before["pipelined"])


@pytest.mark.parametrize("second", ["thread", "process"])
def test_what_was_kept_is_forgotten_after_a_write_the_decisions_did_not_make(
        db: Database, second: str) -> None:
    """A top-up by another connection while a session is kept with an empty wallet: the
    next request, decided from what was kept, is found stale and applied plainly; the one
    after is decided again, from the database, and sees the money."""
    db.settings = replace(db.settings, writer_pipeline=second)
    writer = db.writer
    assert isinstance(writer, PipelinedWriter)
    (line,) = _ready(db, 10)  # one quota's worth at 1 fen a MiB
    ask = writer.submit
    assert ask(_open(line, "a")).result(WAIT).grants[0].granted == QUOTA["data"]
    used_up = ask(Charge("a", 1, "update", (Ask(1, "data", used=QUOTA["data"]),))).result(WAIT)
    assert used_up.result == "credit_limit_reached"
    before = writer.status()
    with db.unit() as uow:  # another connection tops the wallet up
        ledger.transfer(uow, "test:top-up", ledger.operator_account(
            uow, "manual_credit", "money:CNY", line_id=line.id),
            ledger.wallet(uow, line.id, "CNY"), 100, code="topup")
    for number in (2, 3):
        answer = ask(Charge("a", number, "update", (
            Ask(1, "data", used=QUOTA["data"] if number == 3 else 0),))).result(WAIT)
        assert (answer.result, answer.grants[0].granted) == ("success", QUOTA["data"])
    after = writer.status()
    assert after["replayed"] == before["replayed"] + 1  # the first, found stale
    assert after["pipelined"] == before["pipelined"] + 1  # the second, decided afresh
    assert after["forgotten"] > before["forgotten"]
    with db.unit(readonly=True) as uow:
        wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
    assert (wallet.posted, wallet.pending_debits) == (100 - 10, 10)


def test_a_write_that_fails_halfway_is_applied_plainly_and_answered_once(
        db: Database, writer: PipelinedWriter, monkeypatch: pytest.MonkeyPatch,
        answers: list[Any]) -> None:
    made = _ready(db, 100, 100, 100)
    failed = []

    def halfway(driver: Any, steps: list[Any]) -> None:
        if failed:
            run_steps(driver, steps)
            return
        run_steps(driver, steps[:2])
        failed.append(len(steps))
        raise sqlite3.OperationalError("disk I/O error (the test's)")

    monkeypatch.setattr(pipeline, "run_steps", halfway)
    before = writer.status()["replayed"]
    answers.clear()
    futures = _all_at_once(writer, [_open(n, f"s{n.id}") for n in made])
    assert [f.result(WAIT).grants[0].granted for f in futures] == [QUOTA["data"]] * 3
    assert failed and failed[0] > 2
    assert writer.status()["replayed"] == before + 1
    assert sorted(id(reply) for reply, _ in answers) == sorted(id(f) for f in futures)
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(func.count()).select_from(charging_requests)).scalar() \
            == 4  # the warm-up's and these three, once each
    # what the failed batch's decision kept went with it: the sessions as written plainly
    again = _all_at_once(writer, [Charge(f"s{n.id}", 1, "update", (
        Ask(1, "data", used=QUOTA["data"]),)) for n in made])
    assert [f.result(WAIT).result for f in again] == ["success"] * 3
    with db.unit(readonly=True) as uow:
        for line in made:
            wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
            assert (wallet.posted, wallet.pending_debits) == (100 - 10, 10)


def _writes_held(monkeypatch: pytest.MonkeyPatch) -> tuple[threading.Event, threading.Event]:
    """Decided batches stop before their first write until ``go`` is set; ``writing`` is set
    once one waits there (in flight, holding the write lock)."""
    writing, go = threading.Event(), threading.Event()

    def held(driver: Any, steps: list[Any]) -> None:
        if not go.is_set():
            writing.set()
            assert go.wait(WAIT)
        run_steps(driver, steps)

    monkeypatch.setattr(pipeline, "run_steps", held)
    return writing, go


def test_requests_on_the_batch_in_flight_wait_for_its_commit(
        db: Database, writer: PipelinedWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    (line,) = _ready(db, 10)  # one quota's worth
    writing, go = _writes_held(monkeypatch)
    first = writer.submit(_open(line, "a"))
    assert writing.wait(WAIT)  # "a" is in flight, holding the write lock
    waited = writer.status()["waited"]
    # the same session again, and another session of the same line
    later = _all_at_once(writer, [Charge("a", 1, "update", (Ask(1, "data", used=1),)),
                                  _open(line, "b")])
    try:
        assert not later[0].done()
    finally:
        go.set()
    assert first.result(WAIT).grants[0].granted == QUOTA["data"]
    update, other = (f.result(WAIT) for f in later)
    assert writer.status()["waited"] == waited + 1
    assert update.result == "success"  # it saw session "a" and its grant
    # 1 byte used costs 1 fen (rounded up): 9 fen left, 9 MiB granted, the last of it
    assert (update.grants[0].granted, update.grants[0].final) == (9 * 1024 * 1024, True)
    assert (other.result, other.grants[0].granted) == ("credit_limit_reached", 0)


def test_a_line_read_while_its_batch_is_in_flight_is_not_kept_as_read(
        db: Database, writer: PipelinedWriter, monkeypatch: pytest.MonkeyPatch) -> None:
    """What was kept dropped right after a batch's decision (as past ``KEEP_AT_MOST``), that
    batch still writing: a session opened meanwhile on the same line reads the line's books
    without that batch's holds, waits for its COMMIT, and is decided from the books as the
    batch left them, not as first read."""
    monkeypatch.setattr(charges, "KEEP_AT_MOST", 0)
    (line,) = _ready(db, 30)  # three quotas' worth
    assert writer.submit(_open(line, "a")).result(WAIT).grants[0].granted == QUOTA["data"]
    writing, go = _writes_held(monkeypatch)
    # "a" reports its 10 MiB and holds 10 more: 10 fen left once it is written
    first = writer.submit(Charge("a", 1, "update", (Ask(1, "data", used=QUOTA["data"]),)))
    assert writing.wait(WAIT)
    before = writer.status()
    waited = before["waited"]
    other = writer.submit(Charge("b", 0, "initial", (Ask(1, "data", requested=2 * QUOTA["data"]),),
                                 line_id=line.id, country="TH"))
    try:
        deadline = time.monotonic() + WAIT
        while writer.status()["waited"] == waited and time.monotonic() < deadline:
            time.sleep(0.01)  # "b" read the line, found it in flight, waits
    finally:
        go.set()
    assert first.result(WAIT).result == "success"
    granted = other.result(WAIT).grants[0]
    assert (granted.granted, granted.final) == (QUOTA["data"], True)  # 10 fen, not 20
    # … decided so, not saved by the ledger's checks failing its write and a plain replay
    assert writer.status()["replayed"] == before["replayed"]
    with db.unit(readonly=True) as uow:
        wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
    assert (wallet.posted, wallet.pending_debits) == (30 - 10, 20)


@pytest.mark.parametrize("pipeline", ["thread", "process", "off"])
def test_many_sessions_at_once_with_and_without_the_pipeline(
        db: Database, pipeline: str) -> None:
    db.settings = replace(db.settings, writer_pipeline=pipeline)
    made = _lines(db, *[1000] * 8)
    assert db.writer.status().get("pipeline", "off") == pipeline
    failures: list[Any] = []

    def session(line: line_svc.Line) -> None:
        ref = f"s{line.id}"
        answers = [db.writer.submit(_open(line, ref)).result(WAIT)]
        for n in range(1, 6):
            answers.append(db.writer.submit(Charge(ref, n, "update", (
                Ask(1, "data", used=QUOTA["data"]),))).result(WAIT))
        answers.append(db.writer.submit(Charge(ref, 6, "terminate", (
            Ask(1, "data", used=5),))).result(WAIT))
        failures.extend(a for a in answers if a.result != "success")

    threads = [threading.Thread(target=session, args=(n,)) for n in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert failures == []
    with db.unit(readonly=True) as uow:
        for line in made:
            wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
            assert (wallet.posted, wallet.pending_debits) == (1000 - 5 * 10 - 1, 0)
    # what the two stages did reaches /metrics (a scrape from the host itself needs no token)
    text = TestClient(create_app(db), client=("127.0.0.1", 50000)).get("/metrics").text
    seen = dict(row.rsplit(" ", 1) for row in text.splitlines()
                if row.startswith("topup_writer_") and not row.startswith("topup_writer_batch"))
    if pipeline == "off":
        assert "topup_writer_pipelined_total" not in seen
    else:
        assert float(seen["topup_writer_pipelined_total"]) >= 1
        assert float(seen["topup_writer_deciding_seconds_total"]) > 0
        assert float(seen["topup_writer_writing_seconds_total"]) > 0
        assert "topup_writer_replayed_total" in seen and "topup_writer_waited_total" in seen
        assert "topup_writer_forgotten_total" in seen
