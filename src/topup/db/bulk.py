"""Inserting many rows at once, by the fastest path each back end has.

Inside ``pipelined(conn)`` on PostgreSQL, statements are not waited for one by one: the
database runs each while Python prepares the next, and the block waits once, at its end. COPY
cannot be pipelined, so there ``insert_rows`` sends one ``INSERT … SELECT … FROM unnest(…)``
with a column per array instead (one plan whatever the number of rows). Only statements that
return nothing belong in the block.

SQLAlchemy's ``insert()`` with a list of dicts costs several microseconds a row in parameter
handling; a million vouchers spend more time there than in the database. Here rows are plain
tuples: PostgreSQL receives them through ``COPY … FROM STDIN`` (one stream, no statement per
row) and SQLite through the driver's ``executemany`` of one prepared statement. Both run on the
unit of work's own connection, inside its transaction, and every constraint and index still
applies (a duplicate key raises ``IntegrityError`` as an ``INSERT`` would).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from psycopg.types.json import Json
from sqlalchemy import Table
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import IntegrityError


def insert_rows(conn: Connection, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], *, same: Mapping[str, Any] | None = None
                ) -> None:
    """Insert ``rows`` (tuples of Python values, in ``columns`` order) into ``table``, each
    with the values of ``same`` (the columns every row shares, given once).

    Values are sent as ``insert()`` sends them, through each column's type for this dialect
    (an aware datetime becomes naive UTC, on SQLite the text SQLAlchemy stores).
    """
    shared = dict(same or {})
    names = [*columns, *shared]
    tail = tuple(v if f is None else f(v)
                 for f, v in zip(_processors(conn, table, shared), shared.values(),
                                 strict=True))
    convert = _processors(conn, table, columns)
    if any(convert):
        rows = (tuple(v if f is None else f(v) for f, v in zip(convert, row, strict=True))
                for row in rows)
    if conn.info.get(_PIPELINE):
        _send_arrays(conn, table, columns, list(rows), shared, tail)
        return
    if tail:
        rows = ((*row, *tail) for row in rows)
    _send(conn, table, names, rows)


_PIPELINE = "topup_pipelined"


@contextmanager
def pipelined(conn: Connection) -> Iterator[None]:
    """Statements that return nothing, sent without waiting for each (PostgreSQL); an error
    in any of them is raised at the end of the block. Elsewhere the block runs as it is."""
    if conn.dialect.name != "postgresql" or conn.info.get(_PIPELINE):
        yield
        return
    driver: Any = conn.connection.driver_connection
    conn.info[_PIPELINE] = True
    try:
        with _as_sqlalchemy(conn, "pipelined statements"), driver.pipeline():
            yield
    finally:
        conn.info.pop(_PIPELINE, None)


@contextmanager
def _as_sqlalchemy(conn: Connection, statement: str) -> Iterator[None]:
    """The driver's IntegrityError raised as SQLAlchemy's, as an ``insert()`` would."""
    try:
        yield
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(statement, None, exc) from exc


def _send_arrays(conn: Connection, table: Table, columns: Sequence[str],
                 rows: list[Sequence[Any]], shared: Mapping[str, Any], tail: Sequence[Any]
                 ) -> None:
    if not rows:
        return
    statement = _array_insert(conn.dialect, table, tuple(columns), tuple(shared))
    driver: Any = conn.connection.driver_connection
    values = [array_text(column) for column in zip(*rows, strict=True)]
    with driver.cursor() as cursor:
        cursor.execute(statement, [*tail, *values])


@lru_cache(maxsize=64)
def _array_insert(dialect: Dialect, table: Table, columns: tuple[str, ...],
                  shared: tuple[str, ...]) -> str:
    """``INSERT … SELECT … FROM unnest(…)`` for these columns, made once per shape (a batch
    sends the same few every time)."""
    quote = dialect.identifier_preparer.quote

    def sql_type(name: str) -> str:
        return str(table.c[name].type.compile(dialect=dialect))

    listed = ", ".join(quote(name) for name in [*columns, *shared])
    arrays = ", ".join(f"CAST(%s AS {sql_type(n)}[])" for n in columns)
    scalars = "".join(f", CAST(%s AS {sql_type(n)})" for n in shared)
    # Names and types come from the schema, quoted; values travel apart from the statement.
    return (f"INSERT INTO {quote(table.name)} ({listed}) "  # noqa: S608
            f"SELECT u.*{scalars} FROM unnest({arrays}) AS u")


def array_text(values: Iterable[Any]) -> str:
    """PostgreSQL's text form of a one-dimensional array of ``values`` (what the driver
    would send, in a fraction of its time): NULL bare, every other element double-quoted
    with its backslashes and quotes escaped, so the server parses it for the column's type."""
    return "{" + ",".join(_element(v) for v in values) + "}"


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Json):
        value = (value.dumps or json.dumps)(value.obj)
    elif isinstance(value, datetime):
        value = value.isoformat(sep=" ")
    elif not isinstance(value, str):
        value = str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _processors(conn: Connection, table: Table, columns: Iterable[str]
                ) -> list[Callable[[Any], Any] | None]:
    return [table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            for name in columns]


def _send(conn: Connection, table: Table, names: Sequence[str],
          rows: Iterable[Sequence[Any]]) -> None:
    quote = conn.dialect.identifier_preparer.quote
    listed = ", ".join(quote(name) for name in names)
    driver: Any = conn.connection.driver_connection
    # Names come from the schema, quoted; values travel apart from the statement.
    if conn.dialect.name == "postgresql":
        statement = f"COPY {quote(table.name)} ({listed}) FROM STDIN"
    else:
        marks = ", ".join("?" * len(names))
        statement = f"INSERT INTO {quote(table.name)} ({listed}) VALUES ({marks})"  # noqa: S608
    with _as_sqlalchemy(conn, statement):
        if conn.dialect.name == "postgresql":
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            driver.executemany(statement, rows)
