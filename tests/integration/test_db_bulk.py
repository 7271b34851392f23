"""Rows inserted in bulk are stored exactly as ``insert()`` stores them, and the schema still
refuses what it refuses, on SQLite (executemany) and PostgreSQL (COPY, and arrays through
unnest inside a pipeline). Reads sent together answer what ``conn.execute`` answers, and the
writer's connection opening its own transactions in a read's pipeline keeps every unit atomic."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime

import pytest
from psycopg.types.json import Json
from sqlalchemy import String, bindparam, insert, select, text, type_coerce, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.factories import make_line
from topup.audit.tables import audit_log
from topup.db.bulk import (
    OWN_BEGIN,
    Query,
    among,
    array_text,
    insert_rows,
    own_begin_done,
    pipelined,
    read_together,
    send,
)
from topup.db.uow import Database
from topup.subscribers.tables import line_events, lines


@pytest.mark.parametrize("piped", [False, True], ids=["alone", "pipelined"])
def test_bulk_rows_read_back_as_rows_inserted_one_by_one(db: Database, piped: bool) -> None:
    line = make_line(db)
    with db.unit() as uow:
        at = uow.now.replace(microsecond=0)  # where a plain isoformat would differ
        uow.conn.execute(insert(line_events).values(
            line_id=line.id, at=at, from_status="active", to_status="grace", actor_id=None,
            reason="one by one"))
        with pipelined(uow.conn) if piped else nullcontext():
            insert_rows(uow.conn, line_events, ("line_id", "reason"),
                        [(line.id, "in bulk"), (line.id, "in bulk too")],
                        same={"at": at, "from_status": "active", "to_status": "grace",
                              "actor_id": None})
    with db.unit(readonly=True) as uow:
        stored = uow.conn.execute(select(
            type_coerce(line_events.c.at, String), line_events.c.from_status,
            line_events.c.to_status, line_events.c.actor_id).where(
            line_events.c.line_id == line.id, line_events.c.to_status == "grace")).all()
        found = uow.conn.execute(select(line_events.c.reason).where(
            line_events.c.line_id == line.id, line_events.c.at == at)).scalars().all()
    assert len(stored) == 3 and len(set(stored)) == 1, "the same value, stored the same way"
    assert sorted(found) == ["in bulk", "in bulk too", "one by one"]


@pytest.mark.parametrize("piped", [False, True], ids=["alone", "pipelined"])
def test_a_duplicate_key_in_bulk_is_an_integrity_error(db: Database, piped: bool) -> None:
    line = make_line(db)
    columns = ("iccid", "kind", "secret_hash", "status", "currency", "auto_renew",
               "created_at", "status_changed_at")
    with pytest.raises(IntegrityError), db.unit() as uow, \
            pipelined(uow.conn) if piped else nullcontext():
        insert_rows(uow.conn, lines, columns, [
            (f"8986{n:016d}", "sim", "x" * 64, "active", "CNY", False, uow.now, uow.now)
            for n in range(3)] + [
            (line.iccid, "sim", "x" * 64, "active", "CNY", False, uow.now, uow.now)])
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(lines.c.id)).scalars().all() == [line.id], \
            "nothing of the refused rows stays"


def test_a_pipeline_carries_json_nulls_and_shared_values_and_waits_at_its_end(
        db: Database) -> None:
    data = [{"order_id": 1, "note": "ä"}, {}, {"nested": [1, None, "x"]}]
    with db.unit() as uow:
        with pipelined(uow.conn):
            insert_rows(uow.conn, audit_log, ("actor_id", "target", "reason", "data"), [
                (None, f"line:{n}", None if n % 2 else f"reason {n}", d)
                for n, d in enumerate(data)], same={"at": uow.now, "action": "test.piped"})
            uow.conn.execute(update(audit_log).where(audit_log.c.action == "test.piped")
                             .values(reason="updated in the same pipeline"))
        rows = uow.conn.execute(select(audit_log.c.target, audit_log.c.reason, audit_log.c.data)
                                .where(audit_log.c.action == "test.piped")
                                .order_by(audit_log.c.target)).all()
    assert [(r.target, r.reason, r.data) for r in rows] == [
        (f"line:{n}", "updated in the same pipeline", d) for n, d in enumerate(data)]


NASTY = ["", "NULL", "null", 'a "quoted" word', "back\\slash", "\\\"", "{braces}", "a,b",
         " spaced ", "ä 中文 😀", "line\nbreak", "tab\tand\rreturn", "'single'"]


def test_array_text_round_trips_through_the_database(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the array text form is PostgreSQL's")
    moment = datetime(2026, 12, 5, 6, 7, 8, 901234)
    with db.unit(readonly=True) as uow:
        cursor = uow.conn.connection.driver_connection.cursor()
        cursor.execute("SELECT CAST(%s AS VARCHAR[]), CAST(%s AS BIGINT[]), "
                       "CAST(%s AS BOOLEAN[]), CAST(%s AS TIMESTAMP[]), CAST(%s AS JSON[])",
                       [array_text([*NASTY, None]), array_text([0, -(2**62), 2**62, None]),
                        array_text([True, False, None]), array_text([moment, None]),
                        array_text([Json({"k": NASTY}), Json([1, None]), None])])
        texts, ints, flags, moments, docs = cursor.fetchone()
    assert texts == [*NASTY, None]
    assert ints == [0, -(2**62), 2**62, None]
    assert flags == [True, False, None]
    assert moments == [moment, None]
    assert docs == [{"k": NASTY}, [1, None], None]


_LINES = Query(lambda dialect: select(lines).where(among(dialect, lines.c.id, "ids"))
               .order_by(lines.c.id))
_EVENTS = Query(lambda dialect: select(line_events.c.reason, line_events.c.at).where(
    line_events.c.line_id == bindparam("line"), line_events.c.at >= bindparam("since")))
_REASON = Query(lambda dialect: update(line_events).where(
    line_events.c.line_id == bindparam("line")).values(reason=bindparam("reason")))


@pytest.mark.parametrize("piped", [False, True], ids=["alone", "pipelined"])
def test_reads_sent_together_answer_as_execute_answers(db: Database, piped: bool) -> None:
    first, second = make_line(db), make_line(db)
    with db.unit() as uow:
        uow.conn.execute(insert(line_events).values(
            line_id=first.id, at=uow.now, from_status="active", to_status="grace",
            actor_id=None, reason="before"))
        with pipelined(uow.conn) if piped else nullcontext():
            send(uow.conn, _REASON, {"line": first.id, "reason": "sent"})
        found, events, none = read_together(uow.conn, [
            (_LINES, {"ids": [second.id, first.id, 10**9]}),
            (_EVENTS, {"line": first.id, "since": uow.now}),
            (_LINES, {"ids": []})])
        expected = uow.conn.execute(select(lines).where(
            lines.c.id.in_([first.id, second.id])).order_by(lines.c.id)).all()
    assert [tuple(r) for r in found] == [tuple(r) for r in expected]
    assert found[0].valid_until == expected[0].valid_until and found[1].id == second.id
    assert [(e.reason, e.at.tzinfo is not None) for e in events] == [("sent", True)], \
        "a statement sent in a pipeline ran before the reads; times come back aware"
    assert none == []


def test_a_read_that_fails_raises_as_sqlalchemy_raises(db: Database) -> None:
    broken = Query(lambda dialect: text("SELECT no_such_column FROM lines"))
    with pytest.raises(DBAPIError), db.unit() as uow:
        read_together(uow.conn, [(_LINES, {"ids": [1]}), (broken, {})])


def test_the_writers_own_begin_opens_an_atomic_transaction(db: Database) -> None:
    """On PostgreSQL a connection marked ``OWN_BEGIN`` opens its transaction in the first
    pipeline of reads; a unit rolled back after it leaves nothing, one committed keeps
    everything, and after either the driver opens transactions itself again."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the transaction's BEGIN travels in a pipeline on PostgreSQL only")
    line = make_line(db)
    with db.engine.connect() as conn:
        conn.execution_options(**{OWN_BEGIN: True})
        driver = conn.connection.driver_connection
        for keep in (False, True):
            with pytest.raises(RuntimeError) if not keep else nullcontext(), \
                    db.unit(on=conn) as uow:
                read_together(uow.conn, [(_LINES, {"ids": [line.id]})])
                assert driver.autocommit and driver.info.transaction_status == 2, \
                    "psycopg stood aside, and a transaction is open (INTRANS)"
                uow.conn.execute(insert(line_events).values(
                    line_id=line.id, at=uow.now, from_status="active", to_status="grace",
                    actor_id=None, reason=f"kept {keep}"))
                if not keep:
                    raise RuntimeError("roll back")
            own_begin_done(conn)
            assert not driver.autocommit
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(line_events.c.reason).where(
            line_events.c.line_id == line.id, line_events.c.reason.like("kept%"))
        ).scalars().all() == ["kept True"]
