"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects import postgresql, sqlite

from topup.db.bulk import Query
from topup.db.uow import UnitOfWork


def insert_ignore(uow: UnitOfWork, table: Table, values: dict[str, Any], index: list[str]) -> Any:
    """``INSERT … ON CONFLICT (index) DO NOTHING`` for the unit of work's dialect.

    To learn whether the row went in, add ``.returning(<a column>)`` and check ``.first()``
    for None: ``rowcount`` does not tell on PostgreSQL.
    """
    mod: Any = postgresql if uow.dialect == "postgresql" else sqlite
    return mod.insert(table).values(**values).on_conflict_do_nothing(index_elements=index)


def upsert(uow: UnitOfWork, table: Table, values: dict[str, Any], index: list[str],
           update: dict[str, Any]) -> Any:
    """``INSERT … ON CONFLICT (index) DO UPDATE SET update`` for the unit of work's dialect:
    one atomic statement, so concurrent writers never lose each other's changes."""
    mod: Any = postgresql if uow.dialect == "postgresql" else sqlite
    return mod.insert(table).values(**values).on_conflict_do_update(index_elements=index,
                                                                     set_=update)


def utc_day(uow: UnitOfWork, column: Any) -> Any:
    """``YYYY-MM-DD`` of a UTCDateTime column (stored as naive UTC), for GROUP BY day."""
    if uow.dialect == "postgresql":
        return func.to_char(column, "YYYY-MM-DD")
    return func.date(column)


def next_ids(table: Table, count: int) -> tuple[Query, dict[str, Any]]:
    """The read that takes ``count`` ids for new rows of ``table`` (an integer ``id`` key),
    for ``read_together``; ``taken_ids`` makes them of its rows.

    PostgreSQL takes them from the column's sequence. SQLite continues from the largest id,
    which is what it would assign itself: the unit of work holds SQLite's write lock
    (``BEGIN IMMEDIATE``) until it commits, so nobody else can take them."""
    if table.name not in _NEXT_IDS:
        _NEXT_IDS[table.name] = Query(lambda dialect: _NEXT_IDS_PG if dialect == "postgresql"
                                      else select(func.coalesce(func.max(table.c.id), 0)))
    return _NEXT_IDS[table.name], {"table": table.name, "n": count}


def taken_ids(uow: UnitOfWork, rows: list[Any], count: int) -> list[int]:
    """The ids ``next_ids`` read."""
    if uow.dialect == "postgresql":
        return [int(r[0]) for r in rows]
    top = int(rows[0][0])
    return list(range(top + 1, top + 1 + count))


_NEXT_IDS: dict[str, Query] = {}
_NEXT_IDS_PG = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                    "FROM generate_series(1, :n)")
