"""Inserting many rows at once, by the fastest path each back end has.

Inside ``pipelined(conn)`` on PostgreSQL, statements are not waited for one by one: the
database runs each while Python prepares the next, and the block waits once, at its end. COPY
cannot be pipelined, so there ``insert_rows`` sends one ``INSERT … SELECT … FROM unnest(…)``
with a column per array instead (one plan whatever the number of rows). Only statements that
return nothing belong in the block. Reads go together too: ``read_together`` sends several
``Query`` (selects whose values are all named parameters) and waits once for all their rows.

SQLAlchemy's ``insert()`` with a list of dicts costs several microseconds a row in parameter
handling; a million vouchers spend more time there than in the database. Here rows are plain
tuples: PostgreSQL receives them through ``COPY … FROM STDIN`` (one stream, no statement per
row) and SQLite through the driver's ``executemany`` of one prepared statement. Both run on the
unit of work's own connection, inside its transaction, and every constraint and index still
applies (a duplicate key raises ``IntegrityError`` as an ``INSERT`` would).
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple, cast

from psycopg.pq import TransactionStatus
from psycopg.types.json import Json
from sqlalchemy import String, Table, any_, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ClauseElement, ColumnElement, Executable
from sqlalchemy.types import TypeDecorator


def insert_rows(conn: Connection, table: Table, columns: Sequence[str],
                rows: Iterable[Sequence[Any]], *, same: Mapping[str, Any] | None = None,
                raw: Collection[str] = ()) -> None:
    """Insert ``rows`` (tuples of Python values, in ``columns`` order) into ``table``, each
    with the values of ``same`` (the columns every row shares, given once).

    Values are sent as ``insert()`` sends them, through each column's type for this dialect
    (an aware datetime becomes naive UTC, on SQLite the text SQLAlchemy stores), except in
    the ``raw`` columns, whose values are given as the database takes them already (a JSON
    column's text, made once by the caller as ``insert()`` would have made it).
    """
    shared = dict(same or {})
    names = [*columns, *shared]
    tail = tuple(v if f is None else f(v)
                 for f, v in zip(_processors(conn.dialect, table, tuple(shared)),
                                 shared.values(), strict=True))
    rows = _converted(conn, table, columns, rows, raw)
    steps = conn.info.get(_CAPTURE)
    if steps is not None:
        if tail:
            rows = ((*row, *tail) for row in rows)
        sql = _insert_sql(conn, table, names)
        head = sql[:sql.index(" VALUES ") + len(" VALUES ")]
        steps.append(Step(sql, list(rows), (head, sql[len(head):], "")))
        return
    if conn.info.get(_PIPELINE):
        _send_arrays(conn, table, columns, list(rows), shared, tail)
        return
    if tail:
        rows = ((*row, *tail) for row in rows)
    _send(conn, table, names, rows)


def update_rows(conn: Connection, table: Table, key: str, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Set ``columns`` of many rows of ``table``: each of ``rows`` is the value of ``key``
    that finds the row, then the new values in ``columns`` order, converted as
    ``insert_rows`` converts them. One statement on PostgreSQL (the values as arrays, so
    it also travels inside ``pipelined``); one prepared statement run per row on SQLite."""
    rows = list(_converted(conn, table, (key, *columns), rows))
    if not rows:
        return
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name != "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        sets = ", ".join(f"{quote(c)} = ?" for c in columns)
        # Names come from the schema, quoted; values travel apart from the statement.
        statement = f"UPDATE {quote(table.name)} SET {sets} WHERE {quote(key)} = ?"  # noqa: S608
        steps = conn.info.get(_CAPTURE)
        if steps is not None:
            ordered = [(*row[1:], row[0]) for row in rows]
            steps.append(Step(statement, ordered,
                              _many_update(quote, table.name, key, columns, "=", ordered)))
            return
        with _as_sqlalchemy(conn, statement):
            driver.executemany(statement, [(*row[1:], row[0]) for row in rows])
        return
    statement = _array_update(conn.dialect, table, key, tuple(columns))
    with _as_sqlalchemy(conn, statement), driver.cursor() as cursor:
        cursor.execute(statement, [array_text(column) for column in zip(*rows, strict=True)])


def _converted(conn: Connection, table: Table, columns: Sequence[str],
               rows: Iterable[Sequence[Any]], raw: Collection[str] = ()
               ) -> Iterable[Sequence[Any]]:
    """``rows`` with each value through its column's type for this dialect (NULL as it is),
    but for the ``raw`` columns."""
    convert = _processors(conn.dialect, table, tuple(columns), frozenset(raw))
    which = [(i, f) for i, f in enumerate(convert) if f is not None]
    if not which:
        return rows

    seen: dict[datetime, Any] = {}  # a batch's rows share a few instants: each made once

    def one(row: Sequence[Any]) -> list[Any]:
        out = list(row)
        for i, f in which:
            value = out[i]
            if value is None:
                continue
            if isinstance(value, datetime):
                if value not in seen:
                    seen[value] = f(value)
                out[i] = seen[value]
            else:
                out[i] = f(value)
        return out

    return map(one, rows)


_PIPELINE = "topup_pipelined"
_CAPTURE = "topup_captured"

SQLITE_VARIABLES = 32766  # the most parameters one SQLite statement takes (3.32 on)


class Step(NamedTuple):
    """A captured write on SQLite: ``sql`` run once per row of ``rows``, or, with ``many``
    (head, one row's marks, tail), all the rows in one statement (``head`` + the marks once
    per row, comma-separated, + ``tail``): one call into SQLite instead of one per row."""

    sql: str
    rows: list[Any]
    many: tuple[str, str, str] | None = None


@contextmanager
def captured(conn: Connection) -> Iterator[list[Step]]:
    """Inside the block, on SQLite, what ``insert_rows``, ``update_rows`` and ``send`` would
    write is kept as ``Step`` s in the list yielded, in order, and not executed: a batch's rows
    decided in a read transaction, written later by another connection (db/pipeline.py)
    with ``run_steps``. Anything else (``conn.execute``) still runs."""
    if conn.dialect.name != "sqlite":
        raise ValueError("only SQLite's writes are captured")
    steps: list[Step] = []
    conn.info[_CAPTURE] = steps
    try:
        yield steps
    finally:
        conn.info.pop(_CAPTURE, None)


def add_to_rows(conn: Connection, table: Table, key: str, columns: Sequence[str],
                rows: Sequence[Sequence[Any]]) -> None:
    """SQLite: add to ``columns`` of many rows of ``table`` (each of ``rows`` the value of
    ``key`` that finds the row, then the amounts in ``columns`` order), one prepared
    statement run per row; captured (``captured``), all in one statement."""
    quote = conn.dialect.identifier_preparer.quote
    sets = ", ".join(f"{quote(c)} = {quote(c)} + ?" for c in columns)
    # Names come from the schema, quoted; values travel apart from the statement.
    statement = f"UPDATE {quote(table.name)} SET {sets} WHERE {quote(key)} = ?"  # noqa: S608
    ordered = [(*row[1:], row[0]) for row in rows]
    steps = conn.info.get(_CAPTURE)
    if steps is not None:
        steps.append(Step(statement, ordered,
                          _many_update(quote, table.name, key, columns, "+", ordered)))
        return
    driver: Any = conn.connection.driver_connection
    with _as_sqlalchemy(conn, statement):
        driver.executemany(statement, ordered)


def _many_update(quote: Callable[[str], str], table: str, key: str, columns: Sequence[str],
                 how: str, rows: Sequence[Sequence[Any]]) -> tuple[str, str, str] | None:
    """``UPDATE … FROM`` a list of values for ``Step.many`` (``rows`` as the one-row
    statement takes them: the values in ``columns`` order, then the key): each column set to
    (``=``) or increased by (``+``) its row's value; None when a key comes twice (the later
    one must win, or add up: one run per row does that)."""
    if len({row[-1] for row in rows}) != len(rows):
        return None
    names = ", ".join([*(f"c{i}" for i in range(len(columns))), "k"])
    t = quote(table)
    sets = ", ".join(f"{quote(c)} = " + (f"v.c{i}" if how == "=" else f"{t}.{quote(c)} + v.c{i}")
                     for i, c in enumerate(columns))
    marks = "(" + ", ".join("?" * (len(columns) + 1)) + ")"
    # Names come from the schema, quoted; values travel apart from the statement.
    return (f"WITH v({names}) AS (VALUES ", marks,
            f") UPDATE {t} SET {sets} FROM v WHERE {t}.{quote(key)} = v.k")  # noqa: S608


def run_steps(driver: Any, steps: Sequence[Step]) -> None:
    """Run captured ``steps`` on a sqlite3 connection, inside its open transaction: each
    with all its rows in a statement where it can (as few releases and takings of the GIL
    as there are statements, not rows), else one run per row."""
    for step in steps:
        rows = step.rows
        if step.many is None or len(rows) < 2:
            driver.executemany(step.sql, rows)
            continue
        head, marks, tail = step.many
        per = max(1, SQLITE_VARIABLES // max(1, len(rows[0])))
        for start in range(0, len(rows), per):
            chunk = rows[start:start + per]
            driver.execute(f"{head}{','.join([marks] * len(chunk))}{tail}",
                           [value for row in chunk for value in row])


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
    """The driver's errors raised as SQLAlchemy raises them (an IntegrityError as an
    ``insert()`` would), so callers handle one family whichever path ran the statement."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc


def among(dialect: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column IN :name`` for a ``Query``, one statement and one plan whatever the number of
    values: on PostgreSQL they travel as one array (``= ANY``), on SQLite as one JSON array
    that ``json_each`` unpacks (``IN (SELECT value FROM json_each(?))``: an index lookup per
    value, as an expanded list gets, without making and caching a statement per length)."""
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    listed = func.json_each(bindparam(name, type_=_JsonList())).table_valued("value")
    return column.in_(select(listed.c.value).scalar_subquery())


class _JsonList(TypeDecorator[Any]):
    """A list of ints or strings sent as the text of a JSON array (``among`` on SQLite)."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str:
        return json.dumps(list(value))


class Query:
    """A read built once per dialect by ``build(dialect name)``, whose values all arrive as
    named parameters when it runs (``read_together``): the writer's batch reads."""

    def __init__(self, build: Callable[[str], ClauseElement]) -> None:
        self._build = build
        self._statements: dict[str, ClauseElement] = {}
        self._plans: dict[Dialect, _Plan] = {}

    def statement(self, dialect: str) -> ClauseElement:
        if dialect not in self._statements:
            self._statements[dialect] = self._build(dialect)
        return self._statements[dialect]

    def run(self, conn: Connection, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
            ) -> Any:
        """Run it through SQLAlchemy (a result, as ``conn.execute`` gives), with ``values``
        (a list of them: once per item)."""
        return conn.execute(cast(Executable, self.statement(conn.dialect.name)),
                            values if isinstance(values, Sequence) else dict(values))

    def plan(self, dialect: Dialect) -> _Plan:
        if dialect not in self._plans:
            self._plans[dialect] = _Plan(self.statement(dialect.name), dialect)
        return self._plans[dialect]


def send(conn: Connection, query: Query, values: Mapping[str, Any] | Sequence[Mapping[str, Any]]
         ) -> None:
    """Run ``query``, a statement that returns nothing, with ``values`` (a list of them:
    once per item). Inside ``pipelined`` on PostgreSQL it is queued without waiting for it;
    on SQLite it goes to the driver at once (one prepared statement, SQLAlchemy's
    per-row parameter handling skipped); elsewhere it runs at once through SQLAlchemy."""
    steps = conn.info.get(_CAPTURE)
    if steps is not None:
        plan = query.plan(conn.dialect)
        many = values if isinstance(values, Sequence) else [values]
        steps.append(Step(plan.sql, [plan.bind(v) for v in many]))
        return
    postgresql = conn.dialect.name == "postgresql"
    if not conn.in_transaction() or (postgresql and not conn.info.get(_PIPELINE)):
        query.run(conn, values)
        return
    plan = query.plan(conn.dialect)
    driver: Any = conn.connection.driver_connection
    with _as_sqlalchemy(conn, plan.sql), closing(driver.cursor()) as cursor:
        if isinstance(values, Sequence):
            cursor.executemany(plan.sql, [plan.bind(v) for v in values])
        else:
            cursor.execute(plan.sql, plan.bind(values))


def read_together(conn: Connection, reads: Sequence[tuple[Query, Mapping[str, Any]]]
                  ) -> list[list[Any]]:
    """The rows of each ``(query, values)``, in order. PostgreSQL gets every statement
    before it answers the first (pipeline mode: one round trip, the transaction's BEGIN
    included); elsewhere they run one after the other. Rows have an attribute per column,
    converted by the columns' types as ``conn.execute`` would."""
    driver: Any = conn.connection.driver_connection
    if conn.dialect.name != "postgresql":
        if not conn.in_transaction():  # SQLAlchemy opens it (BEGIN IMMEDIATE, say)
            return [list(query.run(conn, values)) for query, values in reads]
        out = []
        for query, values in reads:
            plan = query.plan(conn.dialect)
            with _as_sqlalchemy(conn, plan.sql):
                out.append(plan.rows(driver.execute(plan.sql, plan.bind(values))))
        return out
    plans = [query.plan(conn.dialect) for query, _ in reads]
    begin = _begins_here(conn, driver)
    with _as_sqlalchemy(conn, "; ".join(p.sql for p in plans)):
        with driver.pipeline():
            if begin:
                driver.execute("BEGIN")
            cursors = []
            for plan, (_, values) in zip(plans, reads, strict=True):
                cursor = driver.cursor()
                cursor.execute(plan.sql, plan.bind(values))
                cursors.append(cursor)
        return [plan.rows(cursor) for plan, cursor in zip(plans, cursors, strict=True)]


OWN_BEGIN = "topup_own_begin"
"""An execution option for the writer's PostgreSQL connection: the transaction's BEGIN may
travel in the pipeline of its first ``read_together``. psycopg's own BEGIN would cost a
round trip of its own, even in pipeline mode (it waits for BEGIN's answer); the owner calls
``own_begin_done`` after every unit of work."""


def _begins_here(conn: Connection, driver: Any) -> bool:
    """Whether this read opens the transaction itself (see ``OWN_BEGIN``): psycopg is told
    not to (autocommit, until ``own_begin_done``), and a plain BEGIN goes first in the
    pipeline. Only where the connection's owner asked, with no transaction open yet and
    psycopg set to open plain ones."""
    if not conn.get_execution_options().get(OWN_BEGIN) or driver.autocommit:
        return False
    if driver.info.transaction_status != TransactionStatus.IDLE:
        return False
    if driver.isolation_level is not None or driver.read_only is not None:
        return False
    driver.autocommit = True
    return True


def own_begin_done(conn: Connection) -> None:
    """After a unit of work on an ``OWN_BEGIN`` connection (committed or rolled back):
    psycopg opens transactions itself again, so that no statement of the next unit runs
    outside one. A connection that cannot be set back is discarded."""
    if conn.closed or conn.dialect.name != "postgresql":
        return
    driver: Any = conn.connection.driver_connection
    if not driver.autocommit:
        return
    if driver.info.transaction_status == TransactionStatus.IDLE:
        driver.autocommit = False
    else:
        conn.invalidate()


class _Plan:
    """A ``Query`` compiled for one dialect, to run on the driver itself: its text, how each
    value is sent and how each column comes back (learnt from the first answer's type codes
    on PostgreSQL). SQLite's statements take their values by position (a name used twice
    is sent twice)."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled: Any = statement.compile(dialect=dialect)  # an SQLCompiler: its binds
        self.sql: str = compiled.string
        self._order: list[str] | None = list(compiled.positiontup) \
            if compiled.positional else None
        self._dialect = dialect
        self._binds = {name: bp.type.dialect_impl(dialect).bind_processor(dialect)
                       for name, bp in compiled.binds.items()}
        # values written into the statement itself (``kind == "topup"``)
        self._fixed = {name: bp.effective_value for name, bp in compiled.binds.items()
                       if not bp.required}
        self._columns = list(getattr(statement, "selected_columns", []))
        self._make: Any = None  # a namedtuple class
        self._convert: list[Callable[[Any], Any] | None] = []

    def bind(self, values: Mapping[str, Any]) -> dict[str, Any] | tuple[Any, ...]:
        given = self._fixed | dict(values)
        named = {name: given[name] if convert is None else convert(given[name])
                 for name, convert in self._binds.items()}
        if self._order is None:
            return named
        return tuple(named[name] for name in self._order)

    def rows(self, cursor: Any) -> list[Any]:
        records = cursor.fetchall()
        if self._make is None:
            self._learn(cursor.description or [])
        make = self._make
        assert make is not None
        which = [(i, f) for i, f in enumerate(self._convert) if f is not None]
        if not which:
            return list(map(make._make, records))
        out = []
        for record in records:
            values = list(record)
            for i, f in which:
                values[i] = f(values[i])
            out.append(make._make(values))
        return out

    def _learn(self, description: Sequence[Any]) -> None:
        dialect = self._dialect
        if self._columns:
            names = [str(c.key) for c in self._columns]
            self._convert = [c.type.dialect_impl(dialect).result_processor(dialect, d[1])
                             for c, d in zip(self._columns, description, strict=True)]
        else:  # a textual statement: its columns as the database names them, unconverted
            names = [d[0] for d in description]
            self._convert = [None] * len(names)
        self._make = namedtuple("Record", names, rename=True)  # type: ignore[misc]


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


@lru_cache(maxsize=64)
def _array_update(dialect: Dialect, table: Table, key: str, columns: tuple[str, ...]) -> str:
    """``UPDATE … FROM unnest(…)`` setting these columns by ``key``, made once per shape."""
    quote = dialect.identifier_preparer.quote
    names = (key, *columns)
    arrays = ", ".join(f"CAST(%s AS {table.c[n].type.compile(dialect=dialect)}[])" for n in names)
    sets = ", ".join(f"{quote(c)} = u.{quote(c)}" for c in columns)
    listed = ", ".join(quote(n) for n in names)
    # Names and types come from the schema, quoted; values travel apart from the statement.
    return (f"UPDATE {quote(table.name)} AS t SET {sets} "  # noqa: S608
            f"FROM unnest({arrays}) AS u({listed}) WHERE t.{quote(key)} = u.{quote(key)}")


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


@lru_cache(maxsize=256)
def _processors(dialect: Dialect, table: Table, columns: tuple[str, ...],
                raw: frozenset[str] = frozenset()) -> list[Callable[[Any], Any] | None]:
    """How each column's values are sent (None: as they are), made once per shape."""
    return [None if name in raw else table.c[name].type.dialect_impl(dialect).bind_processor(
        dialect) for name in columns]


def _insert_sql(conn: Connection, table: Table, names: Sequence[str]) -> str:
    """SQLite's ``INSERT`` of ``names`` into ``table``, one row per run."""
    quote = conn.dialect.identifier_preparer.quote
    listed = ", ".join(quote(name) for name in names)
    marks = ", ".join("?" * len(names))
    # Names come from the schema, quoted; values travel apart from the statement.
    return f"INSERT INTO {quote(table.name)} ({listed}) VALUES ({marks})"  # noqa: S608


def _send(conn: Connection, table: Table, names: Sequence[str],
          rows: Iterable[Sequence[Any]]) -> None:
    quote = conn.dialect.identifier_preparer.quote
    listed = ", ".join(quote(name) for name in names)
    driver: Any = conn.connection.driver_connection
    # Names come from the schema, quoted; values travel apart from the statement.
    if conn.dialect.name == "postgresql":
        statement = f"COPY {quote(table.name)} ({listed}) FROM STDIN"
    else:
        statement = _insert_sql(conn, table, names)
    with _as_sqlalchemy(conn, statement):
        if conn.dialect.name == "postgresql":
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            driver.executemany(statement, rows)
