"""SQLite alone: the writer's own statements recorded during a run, then replayed.

``Recorder`` is a ``sqlite3.Connection`` (the engine's ``factory``) that, while ``recording``
is set, keeps every statement the writer thread sends through it, with its parameters, in
order: reads, multi-row writes, savepoints, BEGIN and COMMIT. ``replay`` runs them again on a
copy of the database taken just before, in one thread with nothing else running: the time the
database itself needs for that work, without the Python that decided it (the baseline that
pgbench is for PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

from topup.db.checkpoint import BACKSTOP_PAGES

WRITER = "topup-writer"


class _Log:
    recording = False
    steps: ClassVar[list[tuple[str, str, Any]]] = []

    @classmethod
    def keep(cls, kind: str, sql: str, params: Any) -> None:
        if cls.recording and threading.current_thread().name == WRITER:
            cls.steps.append((kind, sql, params))


class RecordingCursor(sqlite3.Cursor):
    def execute(self, sql: str, params: Any = (), /) -> Any:  # type: ignore[override]
        _Log.keep("one", sql, params)
        return super().execute(sql, params)

    def executemany(self, sql: str, rows: Any, /) -> Any:  # type: ignore[override]
        rows = list(rows)
        _Log.keep("many", sql, rows)
        return super().executemany(sql, rows)


class Recorder(sqlite3.Connection):
    def cursor(self, factory: Any = RecordingCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def execute(self, sql: str, params: Any = (), /) -> Any:  # type: ignore[override]
        return self.cursor().execute(sql, params)

    def executemany(self, sql: str, rows: Any, /) -> Any:  # type: ignore[override]
        return self.cursor().executemany(sql, rows)

    def commit(self) -> None:
        if self.in_transaction:
            _Log.keep("one", "COMMIT", ())
        super().commit()


def start(db_file: Path, copy: Path) -> None:
    """Copy the database as it is now and record from here on."""
    with sqlite3.connect(db_file) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    _Log.steps = []
    _Log.recording = True


def stop() -> list[tuple[str, str, Any]]:
    _Log.recording = False
    steps, _Log.steps = _Log.steps, []
    return steps


def replay(copy: Path, steps: list[tuple[str, str, Any]]) -> float:
    """Seconds the copy takes to run ``steps`` again, with the writer's pragmas: the engine's,
    and the raised checkpoint threshold with which the writer leaves WAL checkpoints to a
    thread of their own (db/checkpoint.py) instead of running them inside its COMMITs."""
    conn = sqlite3.connect(copy, isolation_level=None)
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON",
                   f"wal_autocheckpoint={BACKSTOP_PAGES}"):
        conn.execute(f"PRAGMA {pragma}")
    began = time.perf_counter()
    for kind, sql, params in steps:
        if kind == "many":
            conn.executemany(sql, params)
        else:
            conn.execute(sql, params).fetchall()
    took = time.perf_counter() - began
    conn.close()
    return took
