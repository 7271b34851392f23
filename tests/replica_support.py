"""The streaming replica the tests read through (scripts/replica makes it; docs/replica.md).

``TOPUP_TEST_PG_REPLICA_URL`` names it (scripts/test sets it). Without it, replica tests are
skipped locally and fail on CI, like PostgreSQL's. The test databases are made on the primary
(tests/conftest.py) and stream to the replica under the same name, so each one's replica URL
is the replica's URL with that database name.

Pausing replay stops the replica for every database on it, so the replica tests of all
workers take turns (an advisory lock on the primary), and replay is always resumed after.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from tests.conftest import _truncate, pg_direct_url
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.uow import Database
from topup.ledger.invariants import check_books

T = TypeVar("T")
TURNS = 1_717_004  # the advisory lock key the replica tests take turns on
CATCH_UP_SECONDS = 15


def pg_replica_base_url() -> str:
    url = os.environ.get("TOPUP_TEST_PG_REPLICA_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI needs the replica: TOPUP_TEST_PG_REPLICA_URL is not set "
                    "(run scripts/test)")
    if not url:
        pytest.skip("no replica (set TOPUP_TEST_PG_REPLICA_URL or run scripts/replica)")
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def eventually(read: Callable[[], T], wanted: T, seconds: float = 5.0) -> T:
    """``read()`` once it gives ``wanted``, else its last answer after ``seconds``. A replica
    that has caught up is still a moment behind the WAL the primary writes meanwhile (even
    reads write some), which on a loaded machine can outlast the reads' short wait."""
    deadline = time.monotonic() + seconds
    while True:
        found = read()
        if found == wanted or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


@dataclass
class Replica:
    """The replica of this worker's test database, and replay's switch."""

    url: str
    primary: Engine
    control: Engine  # the replication role on the replica's "postgres": pauses replay

    def pause(self) -> None:
        # Replay checks the request before each record it applies: from here on, nothing
        # more is replayed (the state says "pause requested" until a record arrives).
        with self.control.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_pause()"))
            state = conn.execute(text("SELECT pg_get_wal_replay_pause_state()")).scalar()
        assert state in ("pause requested", "paused"), state

    def resume(self) -> None:
        with self.control.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))

    def catch_up(self) -> None:
        """Wait until the replica has replayed all the primary has written so far."""
        with self.primary.connect() as conn:
            wanted = conn.execute(text("SELECT pg_current_wal_lsn()")).scalar()
        deadline = time.monotonic() + CATCH_UP_SECONDS
        with self.control.connect() as conn:
            while time.monotonic() < deadline:
                done = conn.execute(text(
                    "SELECT pg_last_wal_replay_lsn() >= CAST(:w AS pg_lsn)"), {"w": wanted}
                ).scalar()
                if done:
                    return
                time.sleep(0.05)
        raise AssertionError("the replica did not catch up")

    def database(self, tmp_path: Path, clock: FrozenClock, **settings: object) -> Database:
        """A Database on the test database whose reports may read from this replica."""
        primary = self.primary.url.render_as_string(hide_password=False)
        values: dict[str, object] = {"replica_url": self.url, "replica_max_lag_seconds": 60.0,
                                     "replica_retry_seconds": 0.0, **settings}
        return Database(self.primary, load_settings(
            data_dir=tmp_path, database_url=primary, secret_key="test-secret-key", **values),
            clock)


@pytest.fixture
def replica(pg_engine: Engine) -> Iterator[Replica]:
    """The replica of this worker's (emptied) test database, caught up, replay running."""
    base = make_url(pg_replica_base_url())
    user = os.environ.get("TOPUP_TEST_PG_REPLICATION_USER", "topup_replica")
    password = os.environ.get("TOPUP_TEST_PG_REPLICATION_PASSWORD", "topup_replica")
    control = create_engine(base.set(username=user, password=password, database="postgres"),
                            isolation_level="AUTOCOMMIT")
    # a session-level lock: on the server itself, never through the transaction pooler
    turns = create_engine(str(pg_direct_url()).replace(
        "postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    _truncate(pg_engine)
    found = Replica(base.set(database=pg_engine.url.database).render_as_string(
        hide_password=False), pg_engine, control)
    with turns.connect() as lock:
        lock.execute(text("SELECT pg_advisory_lock(:k)"), {"k": TURNS})
        try:
            found.resume()  # whatever an interrupted run left
            found.catch_up()
            yield found
        finally:
            found.resume()
            lock.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": TURNS})
    with pg_engine.connect() as conn:
        assert check_books(conn) == []
    control.dispose()
    turns.dispose()
