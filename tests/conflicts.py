"""Serialization failures and deadlocks made to happen on the real PostgreSQL.

``forced(db, table, times=N)`` installs a trigger that raises SQLSTATE 40001 (or any code) for
the first N rows inserted into (or updated in) ``table`` that match ``when``; its count is a
sequence, which a rollback does not undo (a counter in a table would be rolled back with the
victim). ``Crossed`` has two threads meet at a barrier while each holds the first of two rows
it locks in opposite order: a true lock cycle, which PostgreSQL breaks with 40P01 after
deadlock_timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import text

from topup.db.uow import Database, UnitOfWork


@contextmanager
def forced(db: Database, table: str, *, times: int, errcode: str = "40001",
           when: str = "true", on: str = "INSERT") -> Iterator[Callable[[], int]]:
    """While the block runs, the first ``times`` inserts into ``table`` (or ``on="UPDATE"``:
    updates) matching ``when`` (an SQL condition on NEW) fail with ``errcode``; yields how
    many have failed so far."""
    drop = ("DROP TRIGGER IF EXISTS forced_conflict ON {table}; "
            "DROP FUNCTION IF EXISTS forced_conflict(); DROP SEQUENCE IF EXISTS forced_tries")
    with db.engine.begin() as conn:
        conn.exec_driver_sql(drop.format(table=table))
        conn.exec_driver_sql("CREATE SEQUENCE forced_tries")
        conn.exec_driver_sql(f"""
            CREATE FUNCTION forced_conflict() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF nextval('forced_tries') <= {int(times)} THEN
                RAISE EXCEPTION 'forced by a test' USING ERRCODE = '{errcode}';
              END IF;
              RETURN NEW;
            END $$""")
        conn.exec_driver_sql(f"CREATE TRIGGER forced_conflict BEFORE {on} ON {table} "
                             f"FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION forced_conflict()")

    def raised() -> int:
        with db.engine.connect() as conn:
            value, called = conn.execute(text(
                "SELECT last_value, is_called FROM forced_tries")).one()
        return min(int(value), times) if called else 0

    try:
        yield raised
    finally:
        with db.engine.begin() as conn:
            conn.exec_driver_sql(drop.format(table=table))


class Crossed:
    """Two units that each lock row ``a`` then row ``b`` of ``table`` (the second in the other
    order), meeting in between on their first try only, so that their locks cross once."""

    def __init__(self, table: str, a: int, b: int) -> None:
        self.table, self.order = table, ((a, b), (b, a))
        self.meet = threading.Barrier(2, timeout=10)
        self.tries = [0, 0]

    def lock(self, uow: UnitOfWork, side: int) -> None:
        """Take this side's two row locks (with the meeting in between on its first try)."""
        self.tries[side] += 1
        first, second = self.order[side]
        # the table is the test's own constant, never input
        query = text(f"SELECT id FROM {self.table} WHERE id = :id FOR UPDATE")  # noqa: S608
        uow.conn.execute(query, {"id": first})
        if self.tries[side] == 1:
            self.meet.wait()
        uow.conn.execute(query, {"id": second})
