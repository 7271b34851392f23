"""Engines for the two supported back ends.

SQLite runs in WAL mode with foreign keys on; every transaction starts with ``BEGIN IMMEDIATE``
so that two writers never deadlock on a lock upgrade (they queue on the busy timeout instead).
PostgreSQL runs at READ COMMITTED; the ledger takes row locks in a fixed order. Behind a
pooler in transaction mode (``TOPUP_DATABASE_POOLER=transaction``, docs/pgbouncer.md) the
driver prepares no statement on the server: a connection's next transaction may run on another
server connection, where that statement's name is unknown, or already taken by another client's.

A unit of work opened ``readonly`` (``Database.unit(readonly=True)``) is refused every write by
the database itself: SQLite's ``query_only`` pragma, PostgreSQL's ``BEGIN READ ONLY``. Either is
set on a connection only when it changes, so a run of units of one kind costs nothing more.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool

from topup.config import database_pooler


def make_engine(url: str, *, pooler: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with the pragmas and pool this project relies on.
    ``pooler``: how PostgreSQL is reached (``Settings.database_pooler``; by default
    ``TOPUP_DATABASE_POOLER``)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, **kwargs)
    if (database_pooler() if pooler is None else pooler) == "transaction":
        # psycopg prepares a statement run five times on one connection (``_pg3_0``…): not
        # here. Each statement is then planned with its own values, as a direct connection's
        # writer asks for anyway (db/group.py).
        kwargs["connect_args"] = {**kwargs.get("connect_args", {}), "prepare_threshold": None}
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # psycopg opens the transaction itself, with ``BEGIN READ ONLY`` while ``read_only``;
        # None (not False) otherwise: the server's default, which bulk.OWN_BEGIN relies on
        readonly = bool(conn.get_execution_options().get(READONLY))
        if _changed(conn, readonly):
            conn.connection.driver_connection.read_only = True if readonly else None

    return engine


READONLY = "topup_readonly"
"""The execution option that marks a read-only unit of work's connection."""


def _changed(conn: Any, readonly: bool) -> bool:
    """Whether the connection was last used the other way (remembered per DBAPI
    connection, in its pool record, for as long as that connection lives)."""
    info = conn.connection.info
    if info.get(READONLY, False) == readonly:
        return False
    info[READONLY] = readonly
    return True


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        from pathlib import Path

        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    if ":memory:" in url:
        kwargs.setdefault("poolclass", NullPool)
    else:  # connections kept open (opening one costs pragmas; each holds a page cache)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 30)
    # a caller's own connect_args (a sqlite3.Connection ``factory``, say) join ours
    connect_args = {"timeout": 30, "check_same_thread": False, **kwargs.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = bool(conn.get_execution_options().get(READONLY))
        # straight to the driver: the statements need none of SQLAlchemy's execution machinery
        driver = conn.connection.driver_connection
        if _changed(conn, readonly):
            driver.execute(f"PRAGMA query_only={int(readonly)}")
        driver.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine
