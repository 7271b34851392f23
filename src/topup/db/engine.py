"""Engines for the two supported back ends.

SQLite runs in WAL mode with foreign keys on; every transaction starts with ``BEGIN IMMEDIATE``
so that two writers never deadlock on a lock upgrade (they queue on the busy timeout instead).
PostgreSQL runs at READ COMMITTED; the ledger takes row locks in a fixed order. Behind a
pooler in transaction mode (``TOPUP_DATABASE_POOLER=transaction``, docs/pgbouncer.md) the
driver prepares no statement on the server: a connection's next transaction may run on another
server connection, where that statement's name is unknown, or already taken by another client's.
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
    return create_engine(url, **kwargs)


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
        readonly = conn.get_execution_options().get("topup_readonly")
        # straight to the driver: the statement needs none of SQLAlchemy's execution machinery
        conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")

    return engine
