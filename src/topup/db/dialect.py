"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, any_, bindparam, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY

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


def among(uow: UnitOfWork, column: Any, values: Iterable[Any]) -> Any:
    """``column IN values``, for the reads of a batch. On PostgreSQL the values travel as one
    array (``column = ANY(:values)``): the statement is the same whatever the batch's size, so
    it is compiled once and planned without a parameter per value. SQLite lists them."""
    if uow.dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


def new_ids(uow: UnitOfWork, table: Table, count: int) -> list[int]:
    """``count`` ids for new rows of ``table`` (an integer ``id`` key), to insert with them.

    PostgreSQL takes them from the column's sequence (one round trip). SQLite continues from
    the largest id, which is what it would assign itself: the unit of work holds SQLite's
    write lock (``BEGIN IMMEDIATE``) until it commits, so nobody else can take them."""
    if count <= 0:
        return []
    if uow.dialect == "postgresql":
        return [int(i) for i in uow.conn.execute(_NEXT_IDS, {
            "table": table.name, "n": count}).scalars()]
    top = int(uow.conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())
    return list(range(top + 1, top + 1 + count))


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :n)")
