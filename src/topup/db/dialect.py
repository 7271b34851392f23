"""The few statements whose spelling differs between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, insert, text
from sqlalchemy.dialects import postgresql, sqlite

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


def insert_rows_returning_ids(uow: UnitOfWork, table: Table, rows: list[dict[str, Any]]
                              ) -> list[int]:
    """Insert ``rows`` into ``table`` (integer ``id`` from a sequence) and return their ids
    in order. PostgreSQL takes the ids from the sequence in one round trip and inserts by
    ``executemany`` (one prepared statement, pipelined); a multi-row ``INSERT … RETURNING``
    would be planned anew for every batch size. SQLite inserts them in one statement."""
    if not rows:
        return []
    if uow.dialect != "postgresql":
        stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return [int(i) for i in uow.conn.execute(stmt, rows).scalars()]
    ids = [int(i) for i in uow.conn.execute(_NEXT_IDS, {
        "table": table.name, "n": len(rows)}).scalars()]
    uow.conn.execute(insert(table), [row | {"id": i} for row, i in zip(rows, ids, strict=True)])
    return ids


_NEXT_IDS = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :n)")
