"""Shared fixtures: a migrated database per test on SQLite and on PostgreSQL, an API client,
and the books-balance check after every test that touched a database.

PostgreSQL comes from ``TOPUP_TEST_PG_URL`` (``scripts/test`` starts a local server and sets
it). Without it, PostgreSQL tests are skipped locally and fail on CI, never skipped silently.
``scripts/test`` points that URL at PgBouncer in transaction mode (``scripts/pgbouncer``) and
sets ``TOPUP_TEST_PG_DIRECT_URL`` to the server itself, where databases are created and dropped
(the pooler keeps server connections to them); without it, that URL is used for both.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

os.environ.setdefault("TOPUP_ARGON2_MEMORY_KIB", "8192")
os.environ.setdefault("TOPUP_ARGON2_TIME_COST", "1")

import topup.handlers  # noqa: F401  (registers the event handlers every Database uses)
from topup.clock import FrozenClock
from topup.config import Settings, load_settings
from topup.db.engine import make_engine
from topup.db.migrate import upgrade
from topup.db.schema import metadata
from topup.db.uow import Database
from topup.ledger.invariants import check_books
from topup.subscribers import token_cache

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
BACKENDS = ("sqlite", "postgres")


def worker_id(config: pytest.Config) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def pg_base_url() -> str | None:
    url = os.environ.get("TOPUP_TEST_PG_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI needs PostgreSQL: TOPUP_TEST_PG_URL is not set (run scripts/test)")
    return url


def pg_direct_url() -> str | None:
    """The PostgreSQL server itself, not through a pooler (see the module's text)."""
    return os.environ.get("TOPUP_TEST_PG_DIRECT_URL") or pg_base_url()


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per worker; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@contextmanager
def pg_database(name: str) -> Iterator[str]:
    """A new, empty PostgreSQL database called ``name`` (any leftover of that name dropped
    first); yields its URL and drops it afterwards. Skips when PostgreSQL is not configured."""
    base, direct = pg_base_url(), pg_direct_url()
    if not base or not direct:
        pytest.skip("PostgreSQL not configured (set TOPUP_TEST_PG_URL or run scripts/test)")
    url = make_url(_psycopg(base))
    admin = create_engine(make_url(_psycopg(direct)), isolation_level="AUTOCOMMIT")
    _drop(admin, name)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        _drop(admin, name)
        admin.dispose()


@pytest.fixture(scope="session")
def pg_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated PostgreSQL database of this worker's own."""
    # One database per test process, so parallel runs never share or drop each other's.
    with pg_database(f"topup_test_{worker_id(request.config)}_{os.getpid()}") as url:
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


def _drop(admin: Engine, name: str) -> None:
    """Drop a test database; an autovacuum worker in it (a superuser process that WITH (FORCE)
    may not end for us) finishes within seconds, so try again for a while."""
    for attempt in range(30):
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except DBAPIError:  # InsufficientPrivilege while autovacuum works there
            if attempt == 29:
                raise
            time.sleep(1)


# Rows a table may hold and still be emptied row by row (see ``_truncate``).
_DELETED_UP_TO = 1000
# Transfers are append-only (migration 0002's trigger); their keys table has no foreign key
# (0033) and is emptied with them. Neither is in the schema's metadata.
_APPEND_ONLY = "ledger_transfers_append_only"


def _truncate(engine: Engine) -> None:
    """Empty every table and restart every id sequence, as a fresh database has them.

    Only the tables holding rows are emptied, with DELETE, children before parents: TRUNCATE
    must take every table that references one it empties (CASCADE: here nearly all of them,
    ~250 tables, indexes and TOASTs), and makes new files for each, ~200 ms on every test,
    while a test fills a few tables with a few rows, which DELETE removes in ~10 ms. The
    transfers' append-only trigger is disabled for that DELETE only, in the same transaction.
    A table with many rows, or a DELETE the foreign keys refuse, goes back to TRUNCATE …
    CASCADE. The sequences are set back with ``setval``."""
    tables = metadata.sorted_tables
    # names from the schema's own metadata, quoted
    probe = " UNION ALL ".join(
        f'SELECT {i}, EXISTS (SELECT 1 FROM "{t.name}" OFFSET {_DELETED_UP_TO}) '  # noqa: S608
        f'WHERE EXISTS (SELECT 1 FROM "{t.name}")' for i, t in enumerate(tables))
    with engine.begin() as conn:
        found = conn.execute(text(probe)).all()
        used = [tables[i].name for i, _ in sorted(found)]
        if used and not any(big for _, big in found):
            try:
                with conn.begin_nested():
                    _delete(conn, used)
            except DBAPIError:
                names = ", ".join(f'"{name}"' for name in used)
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        elif used:
            names = ", ".join(f'"{name}"' for name in used)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        # the sequences left moved by rows rolled back, or by a table emptied already
        conn.execute(text(
            "SELECT setval(CAST(format('%I.%I', schemaname, sequencename) AS regclass), 1, "
            "false) FROM pg_sequences WHERE schemaname = current_schema() "
            "AND last_value IS NOT NULL"))


def _delete(conn: Connection, used: list[str]) -> None:
    """DELETE every row of ``used`` (in the metadata's order: parents first), children first."""
    transfers = "ledger_transfers" in used
    if transfers:
        conn.execute(text(f"ALTER TABLE ledger_transfers DISABLE TRIGGER {_APPEND_ONLY}"))
        conn.execute(text("DELETE FROM ledger_transfer_ids"))
    for name in reversed(used):
        conn.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608  (the metadata's names)
    if transfers:
        conn.execute(text(f"ALTER TABLE ledger_transfers ENABLE TRIGGER {_APPEND_ONLY}"))


def settings_for(tmp_path: Path, url: str) -> Settings:
    return load_settings(data_dir=tmp_path, database_url=url, secret_key="test-secret-key")


@pytest.fixture(autouse=True)
def fresh_token_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with the bearer-token cache empty: it is process-wide, and user ids
    of other tests' databases are the same numbers (a user another test just revoked would
    not be cached here for a while)."""
    monkeypatch.setattr(token_cache.TOKENS, "_entries", {})
    monkeypatch.setattr(token_cache.TOKENS, "_forgotten", {})


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on."""
    return str(request.param)


@pytest.fixture
def clock() -> FrozenClock:
    """The time every service sees; tests move it with ``clock.advance(days=1)``."""
    return FrozenClock(START)


@pytest.fixture
def db(backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
       ) -> Iterator[Database]:
    """A fresh, migrated database; after the test, the books must balance."""
    if backend == "sqlite":
        path = tmp_path / "topup.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
        engine = make_engine(url)
    else:
        engine = request.getfixturevalue("pg_engine")
        _truncate(engine)
        url = engine.url.render_as_string(hide_password=False)
    database = Database(engine, settings_for(tmp_path, url), clock)
    yield database
    database.close()  # the writer thread and its connection end with the test
    with engine.connect() as conn:
        problems = check_books(conn)
    assert problems == [], f"the books do not balance: {problems}"
    if backend == "sqlite":
        engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The test clients' event loop (tests/client_support.py) stops with the session."""
    from tests import client_support

    client_support.stop()
