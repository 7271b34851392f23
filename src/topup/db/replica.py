"""Reads that may come from a streaming replica (``TOPUP_REPLICA_URL``, docs/replica.md).

Reports, the console's dashboard and exports open ``db.unit(readonly=True, replica=True)``.
Such a unit runs on the replica when one is configured, answers, is a hot standby, and is
close enough; otherwise on the primary, so a replica never makes a report fail or wrong by
more than the bound.

The lag rule: the replica is *current* when it has replayed all the WAL the primary had
written when the unit began (``pg_last_wal_replay_lsn() >= pg_current_wal_lsn()``, the primary
asked first), so an idle primary, whose last transaction may be hours old, is no lag. A
replica that is behind shows what was committed up to its last replayed transaction
(``pg_last_xact_replay_timestamp()``): that is the unit's ``as_of``, which pages show, and
when it is more than ``TOPUP_REPLICA_MAX_LAG_SECONDS`` old the primary answers instead.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from topup.config import Settings
from topup.db.engine import make_engine

log = logging.getLogger("topup.replica")

CONNECT_TIMEOUT_SECONDS = 3
# A replica behind the primary's WAL is asked again for this long before it counts as behind.
CATCH_UP_WAIT_SECONDS = 0.2
# Behind by less than this counts as current: a busy primary keeps a replica a few
# milliseconds behind all the time, and pages show times to the second.
CURRENT_WITHIN_SECONDS = 1.0

REPLICA_STATE = text(
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= CAST(:wanted AS pg_lsn),"
    " pg_last_xact_replay_timestamp(),"
    " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())")


@dataclass(frozen=True)
class Source:
    """Where a unit's reads came from.

    ``name``: "primary" or "replica"; ``as_of``: the time of the last transaction the
    replica had replayed, when it was behind (None: the data is current); ``reason``: why
    the primary answered a unit that asked for the replica (empty otherwise)."""

    name: str
    as_of: datetime | None = None
    reason: str = ""


PRIMARY = Source("primary")


class ReplicaReads:
    """Chooses, unit by unit, between the replica and the primary; one per ``Database``.

    Its only state besides the replica's engine is when the replica last failed: for
    ``replica_retry_seconds`` after that the primary answers without trying it."""

    def __init__(self, primary: Engine, settings: Settings) -> None:
        self.primary = primary
        self.url = settings.replica_url
        self.max_lag = settings.replica_max_lag_seconds
        self.retry = settings.replica_retry_seconds
        self._engine: Engine | None = None
        self._down_until = 0.0
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = make_engine(
                    self.url, pool_size=5, max_overflow=10,
                    connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
            return self._engine

    def open(self) -> tuple[Connection, Source]:
        """A connection to read from (no transaction begun; the caller closes it) and where
        it goes."""
        if not self.url:
            return self.primary.connect(), PRIMARY
        if time.monotonic() < self._down_until:
            return self.primary.connect(), Source("primary", reason="unreachable")
        return self._choose()

    def _choose(self) -> tuple[Connection, Source]:
        with self.primary.connect() as conn:
            wanted = str(conn.execute(text("SELECT pg_current_wal_lsn()")).scalar_one())
        try:
            replica = self.engine.connect()
        except DBAPIError as exc:
            return self._fallback(exc)
        try:
            standby, current, replayed_at, age = self._state(replica, wanted)
        except DBAPIError as exc:
            replica.close()
            return self._fallback(exc)
        source = self._judge(standby, current, replayed_at, age)
        if source.name == "replica":
            return replica, source
        replica.close()
        return self.primary.connect(), source

    @staticmethod
    def _state(replica: Connection, wanted: str
               ) -> tuple[bool, bool | None, datetime | None, float | None]:
        """The replica's state, once it has replayed ``wanted`` or after a short wait: WAL
        in flight (milliseconds) is no lag, and the primary writes WAL without committing
        (page pruning on reads, checkpoints), so the age of the last replayed transaction
        alone would make a replica that is only streaming look late."""
        deadline = time.monotonic() + CATCH_UP_WAIT_SECONDS
        while True:
            state = replica.execute(REPLICA_STATE, {"wanted": wanted}).one()
            if not state[0] or state[1] or time.monotonic() >= deadline:
                replica.rollback()  # the unit begins its own transaction
                return (state[0], state[1], state[2],
                        None if state[3] is None else float(state[3]))
            time.sleep(0.02)

    def _judge(self, standby: bool, current: bool | None, replayed_at: datetime | None,
               age: float | None) -> Source:
        if not standby:  # promoted, or not a replica at all: it may hold anything
            log.warning("TOPUP_REPLICA_URL is not a hot standby; reading from the primary")
            return Source("primary", reason="not a standby")
        if current:
            return Source("replica")
        if replayed_at is None or age is None or age > self.max_lag:
            return Source("primary", reason="too far behind")  # (None: nothing replayed yet)
        return Source("replica", as_of=replayed_at if age >= CURRENT_WITHIN_SECONDS else None)

    def _fallback(self, exc: DBAPIError) -> tuple[Connection, Source]:
        self._down_until = time.monotonic() + self.retry
        log.warning("the replica did not answer (%s); the primary serves reports for %ss",
                    exc.orig or exc, self.retry)
        return self.primary.connect(), Source("primary", reason="unreachable")

    def dispose(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()
