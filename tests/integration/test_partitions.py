"""Monthly partitions of the logs on PostgreSQL (migration 0032, docs/partitioning.md): the
migration converts tables with their rows and back; record ids stay unique across months;
a hot query reads one partition; ``topup db archive`` moves old months to CSV files and
leaves the books balanced; SQLite refuses the partition commands in one line."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from sqlalchemy import event, insert, select, text
from sqlalchemy.engine import Engine

from tests.conftest import pg_database, settings_for
from tests.factories import Api, make_line, make_user
from topup.charging.service import daily_totals
from topup.charging.tables import usage_records
from topup.clock import FrozenClock
from topup.db.engine import make_engine
from topup.db.migrate import alembic_config, upgrade
from topup.db.partitions import (
    ID_RANGED,
    PARTITIONED,
    ArchiveRefused,
    Month,
    archive,
    ensure_months,
    headroom,
    months_of,
)
from topup.db.uow import Database
from topup.jobs.schedule import make_partitions
from topup.ledger import service as ledger
from topup.ledger.errors import PendingAlreadyResolved
from topup.ledger.invariants import check_books
from topup.ledger.service import _BY_KEY
from topup.ledger.tables import transfers

TABLES = tuple(PARTITIONED)
ID_SPAN = 10_000_000  # TOPUP_PARTITION_ID_SPAN's default


def traffic(db: Database, tag: str, at: datetime) -> None:
    """Rows in every partitioned table at ``at`` (the database's clock must show it): a
    bound line, a staff credit (an order with its events, the audit log, a notification)
    and two usage records."""
    api = Api(db)
    line = make_line(db, secret="5151", country="CN", currency="CNY")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "5151"})
    assert r.status_code in (200, 201), r.text
    staff = api.login(str(make_user(db, "admin").email))
    net = api.login(str(make_user(db, "network").email))
    r = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key=f"credit-{tag}",
                 json={"amount": 5000, "reason": "test", "confirm_duplicate": True})
    assert r.status_code == 201, r.text
    for n in range(2):
        r = api.post("/api/v1/usage", net, json={
            "record_id": f"{tag}-{n}", "line": line.iccid, "unit": "sms", "quantity": 1,
            "country": "CN", "occurred_at": at.isoformat().replace("+00:00", "Z")})
        assert r.status_code in (200, 201), r.text
    with db.unit() as uow:  # the audit log, in case the credit wrote nothing there
        uow.conn.execute(text("INSERT INTO audit_log (at, action, target, data) "
                              "VALUES (:at, 'test', :t, '{}')"),
                         {"at": at.replace(tzinfo=None), "t": tag})


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one())  # noqa: S608
                for t in (*TABLES, "ledger_transfers", "orders")}


def partitioned(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c "
            "ON c.oid = p.partrelid")).scalars())


def world(url: str, tmp_path: Path, clock: FrozenClock) -> tuple[Engine, Database]:
    engine = make_engine(url)
    return engine, Database(engine, settings_for(tmp_path, url), clock)


def test_migration_converts_with_rows_and_back(tmp_path: Path) -> None:
    """0032 and 0033 go down and up again with rows in every table they convert."""
    with pg_database(f"topup_test_part_{uuid.uuid4().hex[:8]}") as url:
        clock = FrozenClock(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
        engine, db = world(url, tmp_path, clock)
        try:
            upgrade(engine)
            traffic(db, "october", clock())
            clock.advance(days=30)  # November
            traffic(db, "november", clock())
            db.close()
            before = counts(engine)
            assert all(before[t] > 0 for t in (*TABLES, *ID_RANGED)), before

            command.downgrade(alembic_config(engine), "0031")
            assert partitioned(engine) == set()
            assert counts(engine) == before
            with engine.connect() as conn:
                assert check_books(conn) == []
            upgrade(engine)
            assert partitioned(engine) == {*TABLES, *ID_RANGED}
            assert counts(engine) == before
            with engine.connect() as conn:
                for table in TABLES:  # a partition for each month with rows, and a default
                    assert {Month(2026, 10), Month(2026, 11)} <= set(months_of(conn, table))
                for table in ID_RANGED:  # the rows' range and an empty one ahead
                    room = headroom(conn, table)
                    assert room.last_id >= before[table] and room.end == 2 * ID_SPAN, room
                assert conn.execute(text("SELECT count(*) FROM usage_record_ids")
                                    ).scalar_one() == before["usage_records"]
                assert conn.execute(text("SELECT count(*) FROM ledger_transfer_ids")
                                    ).scalar_one() == before["ledger_transfers"]
                assert check_books(conn) == []
            # record ids stay unique across months, though the key is (id, occurred_at)
            with pytest.raises(sqlalchemy.exc.IntegrityError), engine.begin() as conn:
                row = conn.execute(select(usage_records).where(
                    usage_records.c.record_id == "october-0")).mappings().one()
                conn.execute(insert(usage_records).values(
                    {**{k: v for k, v in row.items() if k != "id"},
                     "occurred_at": row["occurred_at"] + timedelta(days=45)}))

            # a submission still needs its message (a trigger stands for the foreign key)
            with pytest.raises(sqlalchemy.exc.IntegrityError, match="not in notification_"), \
                    engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO notification_submissions (outbox_id, part, parts, "
                    "provider_message_id, delivery_state, submitted_at) VALUES "
                    "(999999, 1, 1, 'x', 'SUBMITTED', now())"))
        finally:
            db.close()
            engine.dispose()


def _order_row(conn: Any, line_id: int, ref: str | None = None) -> int:
    return int(conn.execute(text(
        "INSERT INTO orders (line_id, kind, amount, fee, currency, method, channel, state, "
        "reason, confirmed_duplicate, payment_ref, renewal, created_at, updated_at) VALUES "
        "(:line, 'topup', 100, 0, 'CNY', 'manual', 'admin', 'created', 'test', false, :ref, "
        "false, now(), now()) RETURNING id"), {"line": line_id, "ref": ref}).scalar_one())


@pytest.mark.parametrize("backend", ["postgres"])
def test_transfers_and_orders_keep_their_keys_across_id_ranges(db: Database) -> None:
    """Partitioned by id, transfers and orders still refuse what their unique keys and
    foreign keys refused, a repeated transfer still answers the first, and a look-up by id
    or by idempotency id reads one partition."""
    with db.engine.connect() as conn:
        assert partitioned(db.engine) >= set(ID_RANGED)
        for table in ID_RANGED:
            assert headroom(conn, table).end >= 2 * ID_SPAN
        referencing = dict(conn.execute(text(  # every foreign key to them, made again
            "SELECT CAST(confrelid AS regclass)::text, count(DISTINCT conrelid) "
            "FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 AND confrelid IN "
            "(CAST('orders' AS regclass), CAST('ledger_transfers' AS regclass)) GROUP BY 1")
        ).all())
        # ledger_transfers itself (pending_id), charging_holds, vouchers; the thirteen tables
        # that name an order, and the key table of its payment reference
        assert referencing == {"ledger_transfers": 3, "orders": 14}, referencing
    line = make_line(db)
    with db.unit() as uow:
        wallet = ledger.wallet(uow, line.id, "CNY")
        source = ledger.operator_account(uow, "manual_credit", "money:CNY")
        first = ledger.transfer(uow, "fund-1", source, wallet, 500, code="test")
        again = ledger.transfer(uow, "fund-1", source, wallet, 500, code="test")
        assert again == first and ledger.balance(uow, wallet).posted == 500
        hold = ledger.transfer(uow, "hold-1", wallet, source, 200, code="test", pending=True)
        ledger.post_pending(uow, "hold-1:post", hold.id, 50)
    with pytest.raises(PendingAlreadyResolved), db.unit() as uow:
        ledger.void_pending(uow, "hold-1:void", hold.id)
    for values in ({"idempotency_id": "fund-1"},  # the key table refuses both, as UNIQUE did
                   {"idempotency_id": "hold-1:again", "kind": "void_pending",
                    "pending_id": hold.id},
                   {"idempotency_id": "dangling", "kind": "void_pending",  # a foreign key
                    "pending_id": 999_999}):
        with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:
            uow.conn.execute(insert(transfers).values({
                "debit_account_id": wallet, "credit_account_id": source, "unit": "money:CNY",
                "amount": 1, "kind": "posted", "code": "raw", "created_at": uow.now} | values))

    with db.unit() as uow:
        a, b = _order_row(uow.conn, line.id), _order_row(uow.conn, line.id, "sandbox:1")
    with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:  # taken
        uow.conn.execute(text("UPDATE orders SET payment_ref = 'sandbox:1' WHERE id = :a"),
                         {"a": a})
    with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:
        _order_row(uow.conn, line.id, "sandbox:1")
    with db.unit() as uow:  # a reference let go is free again
        uow.conn.execute(text("UPDATE orders SET payment_ref = 'sandbox:2' WHERE id = :b"),
                         {"b": b})
        uow.conn.execute(text("UPDATE orders SET payment_ref = 'sandbox:1' WHERE id = :a"),
                         {"a": a})
    for statement in ("INSERT INTO order_events (order_id, at, to_state) "
                      "VALUES (999999, now(), 'created')",
                      "DELETE FROM orders WHERE id = (SELECT min(order_id) FROM order_events)"):
        with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:
            if "DELETE" in statement:  # an order with an event: the event's key holds it
                uow.conn.execute(text("INSERT INTO order_events (order_id, at, to_state) "
                                      "VALUES (:a, now(), 'created')"), {"a": a})
            uow.conn.execute(text(statement))

    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        by_id = _plan(raw, "SELECT * FROM orders WHERE id = %s", (a,))
        assert set(_scanned(by_id, "orders")) == {"orders_id0"}, by_id
        # the writer's idempotency look-up: the key table's index, then one partition
        statement = str(_BY_KEY["postgresql"].compile(dialect=conn.dialect))
        plan = _plan(raw, statement.replace("%(key)s", "%s"), ("fund-1",))
        assert "pk_ledger_transfer_ids" in plan, plan
        assert _scanned(plan, "ledger_transfers") == ["ledger_transfers_id0"], plan
    with pytest.raises(ArchiveRefused, match="never archived"):
        archive(db.engine, Month(2020, 1), Path("unused"), datetime.now(UTC), 12,
                ("ledger_transfers",))


def _scanned(plan: str, table: str) -> list[str]:
    """The partitions of ``table`` a plan read (scans of their rows, by whatever way, that
    ran), not the indexes it went through."""
    scan = r"(?:Seq Scan|Heap Scan|Index Scan using \S+|Index Only Scan using \S+)"
    return [m.group(1) for m in re.finditer(rf"{scan} on ({table}_\w+) .*", plan)
            if "never executed" not in m.group(0)]


def _plan(raw: Any, statement: str, params: tuple[Any, ...]) -> str:
    """The plan PostgreSQL runs ``statement`` by, with every index it has a use for: the
    tables hold a few rows here, which one scans faster than by index (and whether the
    planner knows that depends on when they were last analyzed)."""
    with raw.transaction():
        raw.execute("SET LOCAL enable_seqscan = off")
        return "\n".join(r[0] for r in raw.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + statement, params))


@pytest.mark.parametrize("backend", ["postgres"])
def test_a_lines_daily_use_reads_one_partition(db: Database, clock: FrozenClock) -> None:
    """The forecast's query (a line's use since a day this month) is pruned to this month's
    partition: no other month, not the default partition."""
    make_partitions(db)  # the worker's daily job: this month and three ahead, then nothing
    assert make_partitions(db) == 0
    with db.engine.connect() as conn:
        for table in TABLES:
            assert {Month.of(clock()).plus(i) for i in range(4)} <= set(months_of(conn, table))
    traffic(db, "pruned", clock())
    seen: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, params: Any, context: Any,
             many: bool) -> None:
        if "FROM usage_records" in statement:
            seen.append((statement, params))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        with db.unit(readonly=True) as uow:
            line_id = uow.conn.execute(text("SELECT line_id FROM usage_records LIMIT 1")
                                       ).scalar_one()
            totals = daily_totals(uow, line_id, "sms", clock() - timedelta(days=7), UTC)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert sum(totals.values()) == 2
    statement, params = seen[-1]
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        plan = "\n".join(r[0] for r in raw.execute("EXPLAIN " + statement, params))
    month = f"usage_records_y{clock().year:04d}m{clock().month:02d}"
    scanned = set(re.findall(r" on (usage_records_\w+)", plan))
    assert scanned == {month}, plan


def topup_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("TOPUP_")}
    full |= {"TOPUP_ARGON2_MEMORY_KIB": "8192", "TOPUP_ARGON2_TIME_COST": "1",
             "TOPUP_EMBEDDED_WORKER": "0", "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, "-m", "topup.cli.main", *args], env=full,
                          capture_output=True, text=True, timeout=120, check=False)


def test_archive_moves_old_months_to_files(tmp_path: Path) -> None:
    old = datetime(2025, 5, 10, 9, 0, tzinfo=UTC)
    with pg_database(f"topup_test_arch_{uuid.uuid4().hex[:8]}") as url:
        clock = FrozenClock(old)
        engine, db = world(url, tmp_path, clock)
        try:
            upgrade(engine)
            traffic(db, "may", old)  # May 2025 has no partition yet: the default takes it
            made = ensure_months(engine, old, ahead=0)  # ... and gives it to May's
            assert made == [f"{t}_y2025m05" for t in TABLES]
            clock.advance(days=(datetime(2026, 11, 22, 9, 0, tzinfo=UTC) - old).days)
            traffic(db, "recent", clock())
            db.close()
            with engine.begin() as conn:  # May's messages went out long ago
                conn.execute(text("UPDATE notification_outbox SET state = 'sent' "
                                  "WHERE created_at < '2025-06-01'"))
            before = counts(engine)
            with engine.connect() as conn:
                old_rows = {t: int(conn.execute(text(
                    f'SELECT count(*) FROM "{t}" WHERE {PARTITIONED[t]} < '  # noqa: S608
                    "'2025-06-01'"
                )).scalar_one()) for t in TABLES}
            assert all(old_rows.values()), old_rows
            env = {"TOPUP_DATABASE_URL": url, "TOPUP_DATA_DIR": str(tmp_path / "data")}
            out = tmp_path / "archive"

            refused = topup_cli(env, "db", "archive", "--before", "2026-10", "--to", str(out))
            assert refused.returncode == 1
            assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
            assert "retention" in refused.stderr

            done = topup_cli(env, "db", "archive", "--before", "2025-06", "--to", str(out))
            assert done.returncode == 0, done.stderr
            after = counts(engine)
            for t in TABLES:
                assert after[t] == before[t] - old_rows[t], t
            assert after["ledger_transfers"] == before["ledger_transfers"]
            with engine.connect() as conn:
                assert check_books(conn) == []
                for t in TABLES:
                    assert Month(2025, 5) not in months_of(conn, t)
                assert conn.execute(text("SELECT count(*) FROM usage_record_ids WHERE "
                                         "record_id LIKE 'may-%'")).scalar_one() == 0
            manifest = json.loads((out / "manifest.json").read_text())
            files = {f["table"]: f for f in manifest["files"]}
            for t in TABLES:
                entry = files[t]
                data = (out / entry["file"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry["sha256"]
                rows = list(csv.DictReader((out / entry["file"]).open(newline="")))
                assert len(rows) == entry["rows"] == old_rows[t]
            ids = {r["record_id"] for r in csv.DictReader(
                (out / files["usage_records"]["file"]).open(newline=""))}
            assert ids == {"may-0", "may-1"}
            check = topup_cli(env, "ledger", "check")
            assert check.returncode == 0, check.stderr
            # May is gone; a record id of May may be reported again (its key went with it)
            again = topup_cli(env, "db", "archive", "--before", "2025-06", "--to", str(out))
            assert again.returncode == 0, again.stderr
            assert "archived 0 partitions" in again.stdout
        finally:
            db.close()
            engine.dispose()


def test_archive_refuses_a_month_with_messages_to_send(tmp_path: Path) -> None:
    old = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
    with pg_database(f"topup_test_arch_{uuid.uuid4().hex[:8]}") as url:
        engine, db = world(url, tmp_path, FrozenClock(old))
        try:
            upgrade(engine)
            ensure_months(engine, old, ahead=0)
            with db.unit() as uow:
                uow.conn.execute(text(
                    "INSERT INTO notification_outbox (channel, recipient, template, language, "
                    "params, state, attempts, created_at, next_attempt_at, quiet) VALUES "
                    "('sms', '+8613800000000', 't', 'en', '{}', 'queued', 0, :at, :at, false)"),
                    {"at": old.replace(tzinfo=None)})
            db.close()
            env = {"TOPUP_DATABASE_URL": url, "TOPUP_DATA_DIR": str(tmp_path / "data")}
            done = topup_cli(env, "db", "archive", "--before", "2025-04", "--to",
                             str(tmp_path / "a"))
            assert done.returncode == 1
            assert "still has 1 messages to send" in done.stderr
            assert counts(engine)["notification_outbox"] == 1
        finally:
            db.close()
            engine.dispose()


def test_partitions_command_makes_months_ahead(tmp_path: Path) -> None:
    with pg_database(f"topup_test_part_{uuid.uuid4().hex[:8]}") as url:
        env = {"TOPUP_DATABASE_URL": url, "TOPUP_DATA_DIR": str(tmp_path / "data")}
        first = topup_cli(env, "db", "partitions", "--ahead", "6")
        assert first.returncode == 0, first.stderr
        far = Month.of(datetime.now(UTC)).plus(6)
        assert f"usage_records_y{far.year:04d}m{far.month:02d}" in first.stdout
        assert "ledger_transfers: last id 0, ranges end at 20000000" in first.stdout
        engine = make_engine(url)  # transfers near the end of their last range
        with engine.begin() as conn:
            conn.execute(text("SELECT setval('ledger_transfers_id_seq', 19999990)"))
        engine.dispose()
        again = topup_cli(env, "db", "partitions", "--ahead", "6")
        assert again.returncode == 0, again.stderr
        assert "made 1 partitions: ledger_transfers_id20000000" in again.stdout, again.stdout
        assert "ranges end at 30000000 (10000009 ids ahead)" in again.stdout
        assert "orders: last id 0, ranges end at 20000000" in again.stdout


@pytest.mark.parametrize("args", [("db", "partitions"),
                                  ("db", "archive", "--before", "2020-01", "--to", "x")])
def test_sqlite_refuses_partition_commands(tmp_path: Path, args: tuple[str, ...]) -> None:
    env = {"TOPUP_DATA_DIR": str(tmp_path / "data")}
    done = topup_cli(env, *args)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "SQLite" in lines[0], done.stderr
