"""topup behind PgBouncer in transaction mode (Debian's package; docs/pgbouncer.md).

``scripts/test`` runs every PostgreSQL test through the pooler that ``scripts/pgbouncer``
starts; the first test shows that the connections really pass through it. The others start a
PgBouncer of their own with ONE server connection per database, so that units of work of
different client connections interleave over the same server session: what one client leaves
there (a prepared statement, a ``SET``) the next one finds. psycopg's defaults break there (the
hazard, shown first); topup with ``TOPUP_DATABASE_POOLER=transaction`` does not.

A test that needs PgBouncer skips where it is not installed, except on CI, where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine, make_url

from tests.conftest import pg_direct_url
from tests.factories import Api, make_line, make_user
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.ledger.invariants import check_books

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "pgbouncer"

pytestmark = pytest.mark.parametrize("backend", ["postgres"])  # PgBouncer pools PostgreSQL


def _needs_pgbouncer(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI needs PgBouncer: {why} (run scripts/test)")
    pytest.skip(f"PgBouncer not available: {why}")


def _conninfo(url: URL, database: str) -> dict[str, Any]:
    return {"host": url.host, "port": url.port, "user": url.username,
            "password": url.password, "dbname": database}


def _console(url: URL) -> psycopg.Connection[Any]:
    """PgBouncer's admin console (the database ``pgbouncer``) at ``url``'s address."""
    return psycopg.connect(**_conninfo(url, "pgbouncer"), autocommit=True)


def _show(url: URL, what: str) -> list[dict[str, Any]]:
    with _console(url) as console:
        cursor = console.execute(f"SHOW {what}")
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def one_server() -> Iterator[URL]:
    """A PgBouncer of this module's own (transaction mode, as ``scripts/pgbouncer`` writes it)
    with one server connection per database and no reserve: every client shares it."""
    if shutil.which("pgbouncer") is None and not os.environ.get("CI"):
        _needs_pgbouncer("the pgbouncer program is not installed (scripts/pgbouncer installs it)")
    direct = pg_direct_url()
    if not direct:
        pytest.skip("PostgreSQL not configured (set TOPUP_TEST_PG_URL or run scripts/test)")
    server = make_url(direct)
    folder = tempfile.mkdtemp(prefix="topup-pgbouncer-")
    env = {**os.environ, "TOPUP_PGBOUNCER_PORT": str(_free_port()),
           "TOPUP_PGBOUNCER_DIR": folder, "TOPUP_PGBOUNCER_POOL_SIZE": "1",
           "TOPUP_PGBOUNCER_RESERVE_POOL": "0", "TOPUP_TEST_PG_PORT": str(server.port or 5432),
           "TOPUP_TEST_PG_USER": str(server.username),
           "TOPUP_TEST_PG_PASSWORD": str(server.password)}
    started = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True,
                             timeout=300, check=False)
    try:
        assert started.returncode == 0, started.stderr
        yield make_url(started.stdout.strip())
    finally:
        subprocess.run([str(SCRIPT), "stop"], env=env, capture_output=True, timeout=30,
                       check=False)
        shutil.rmtree(folder, ignore_errors=True)


def _through(bouncer: URL, db: Database) -> str:
    """The URL of ``db``'s database through ``bouncer``."""
    return bouncer.set(database=db.engine.url.database).render_as_string(hide_password=False)


def _database(url: str, tmp_path: Path, clock: FrozenClock, pooler: str) -> Database:
    settings = load_settings(data_dir=tmp_path, database_url=url, secret_key="test-secret-key",
                             database_pooler=pooler)
    return Database(make_engine(url, pooler=pooler), settings, clock)


def _backend(conn: Any) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_the_postgresql_tests_reach_the_server_through_pgbouncer(db: Database) -> None:
    url = db.engine.url
    try:
        pools = _show(url, "POOLS")
    except psycopg.OperationalError as exc:  # PostgreSQL itself: no database "pgbouncer"
        _needs_pgbouncer(f"TOPUP_TEST_PG_URL ({url.host}:{url.port}) is no PgBouncer: {exc}")
    assert os.environ.get("TOPUP_DATABASE_POOLER") == "transaction"
    with db.engine.connect() as conn:
        assert conn.connection.driver_connection.prepare_threshold is None  # type: ignore[union-attr]
        # the server session's peer is one of PgBouncer's server connections
        port = conn.execute(text("SELECT inet_client_port()")).scalar_one()
        servers = _show(url, "SERVERS")
        clients = _show(url, "CLIENTS")
    mine = [s for s in servers if s["local_port"] == port]
    assert [(s["database"], s["user"]) for s in mine] == [(url.database, url.username)]
    assert any(c["database"] == url.database and c["state"] == "active" for c in clients)
    assert {p["pool_mode"] for p in pools if p["database"] == url.database} == {"transaction"}
    stats = {s["database"]: s for s in _show(url, "STATS")}
    assert stats[url.database]["total_xact_count"] > 0


def test_two_clients_on_one_server_connection_clash_on_psycopgs_prepared_statements_not_on_ours(
        db: Database, one_server: URL) -> None:
    url = make_url(_through(one_server, db))
    info = _conninfo(url, str(url.database))
    statement = "SELECT count(*) FROM ledger_accounts WHERE id > %s"
    # The hazard: psycopg prepares a statement's fifth run as _pg3_0 on the server session,
    # and the next client on that session prepares its own _pg3_0.
    with psycopg.connect(**info, autocommit=True) as a, \
            psycopg.connect(**info, autocommit=True) as b:
        assert a.prepare_threshold == 5
        for _ in range(6):
            a.execute(statement, (0,))
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement):
            for _ in range(6):
                b.execute(statement, (0,))
    # topup's engine behind the pooler prepares nothing: any number of runs interleave.
    engine: Engine = make_engine(url.render_as_string(hide_password=False), pooler="transaction")
    try:
        with engine.connect() as a, engine.connect() as b:
            seen = set()
            for i in range(12):
                for conn in (a, b):
                    assert conn.execute(text("SELECT count(*) FROM ledger_accounts WHERE id > :i"),
                                        {"i": i}).scalar_one() == 0
                    seen.add(_backend(conn))
                    conn.commit()  # the server connection goes back to the pool
            assert len(seen) == 1  # both clients ran on the one server session
    finally:
        engine.dispose()


def test_a_writer_and_readers_on_one_server_connection_leave_no_session_state(
        catalogue: Database, one_server: URL, tmp_path: Path, clock: FrozenClock) -> None:
    url = _through(one_server, catalogue)
    line = make_line(catalogue)
    writes = _database(url, tmp_path, clock, "transaction")
    reads = _database(url, tmp_path, clock, "transaction")
    try:
        api = Api(writes)  # its requests, its writer's batches and the reads interleave
        staff = api.login(str(make_user(writes, "admin").email))
        sessions = set()
        for i in range(8):
            r = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key=f"credit-{i}",
                         json={"amount": 1000, "currency": "CNY", "reason": "cash desk",
                                   "confirm_duplicate": True})
            assert r.status_code == 201, r.text
            with reads.unit(readonly=True) as uow:
                assert ledger.wallets(uow, line.id)["CNY"].posted == 1000 * (i + 1)
                # the writer planned its reads with their values without a SET that would
                # stay on this server session for whoever comes next
                assert uow.conn.execute(text("SHOW plan_cache_mode")).scalar_one() == "auto"
                sessions.add(_backend(uow.conn))
        replay = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key="credit-0",
                          json={"amount": 1000, "currency": "CNY", "reason": "cash desk",
                                   "confirm_duplicate": True})
        assert replay.status_code == 201, replay.text
        with writes.unit(readonly=True) as uow:
            assert ledger.wallets(uow, line.id)["CNY"].posted == 8000
            assert check_books(uow.conn) == []
            sessions.add(_backend(uow.conn))
        assert len(sessions) == 1
        # The same writer on a direct connection's settings: its SET reaches the next client.
        direct = _database(url, tmp_path, clock, "")
        try:
            direct.writer.call(lambda uow: None)
            with reads.unit(readonly=True) as uow:
                leaked = uow.conn.execute(text("SHOW plan_cache_mode")).scalar_one()
                uow.conn.execute(text("RESET plan_cache_mode"))
            assert leaked == "force_custom_plan"
        finally:
            direct.dispose()
    finally:
        writes.dispose()
        reads.dispose()
