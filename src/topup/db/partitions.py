"""Partitions on PostgreSQL (docs/partitioning.md): monthly ranges of the append-only logs,
id ranges of ledger transfers and orders.

The tables that only grow with traffic and are read by line and time — usage records, the
notification outbox, the audit log and order events — are partitioned by month on their
time column, with a default partition that catches anything outside the months made so far.
Migration 0032 converted them (its own code, frozen); ``ensure_months`` makes the next months
ahead (``topup db partitions``, also run by ``topup worker`` at start and daily);
``archive`` detaches months past the retention, writes each to a CSV file with a manifest
(row counts, sha256) and drops it (``topup db archive``). SQLite keeps plain tables.

Ledger transfers and orders are partitioned by ranges of ``id`` (migration 0033), with no
default partition: ``ensure_ranges`` keeps at least one empty range ahead of each table's id
sequence (``topup db partitions`` and the same daily job). They are never archived.
"""

# Every name spliced into SQL here is a table of PARTITIONED or a partition named from one
# and a Month (digits): never input.
# ruff: noqa: S608
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

# table -> its partition key (a UTCDateTime column, stored as naive UTC)
PARTITIONED: dict[str, str] = {
    "usage_records": "occurred_at",
    "notification_outbox": "created_at",
    "audit_log": "at",
    "order_events": "at",
}
AHEAD = 3  # months made ahead of the current one
# tables range-partitioned on ``id``; never archived (the books are proved from them)
ID_RANGED = ("ledger_transfers", "orders")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, at: datetime) -> Month:
        return cls(at.year, at.month)

    @classmethod
    def parse(cls, value: str) -> Month:
        m = _MONTH.match(value.strip())
        if not m or not 1 <= int(m.group(2)) <= 12:
            raise ValueError(f"not a month (YYYY-MM): {value!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    def plus(self, months: int) -> Month:
        n = self.year * 12 + self.month - 1 + months
        return Month(n // 12, n % 12 + 1)

    @property
    def start(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-01 00:00:00"

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def partition_name(table: str, month: Month) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def is_partitioned(conn: Connection, table: str) -> bool:
    return bool(conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c "
        "ON c.oid = p.partrelid WHERE c.relname = :t AND c.relnamespace = "
        "current_schema()::regnamespace)"), {"t": table}).scalar())


def months_of(conn: Connection, table: str) -> list[Month]:
    """The monthly partitions ``table`` has, oldest first (not the default one)."""
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass)"), {"t": table}).scalars()
    pattern = re.compile(rf"^{re.escape(table)}_y(\d{{4}})m(\d{{2}})$")
    found = [pattern.match(n) for n in names]
    return sorted(Month(int(m.group(1)), int(m.group(2))) for m in found if m)


def add_month(conn: Connection, table: str, month: Month) -> bool:
    """Make the partition of ``month`` (False when it exists). Rows of that month that the
    default partition caught move into it, so the attach finds the default clean."""
    # one maker at a time (the worker's daily job, an operator's command): no race to create
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('topup partitions'))"))
    if month in months_of(conn, table):
        return False
    key = PARTITIONED[table]
    name = partition_name(table, month)
    lo, hi = month.start, month.plus(1).start
    conn.execute(text(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS '
                      "INCLUDING CONSTRAINTS)"))
    conn.execute(text(
        f'WITH moved AS (DELETE FROM "{table}_default" WHERE {key} >= :lo AND {key} < :hi '
        f'RETURNING *) INSERT INTO "{name}" SELECT * FROM moved'), {"lo": lo, "hi": hi})
    conn.execute(text(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" '
                      f"FOR VALUES FROM ('{lo}') TO ('{hi}')"))
    return True


def ensure_months(engine: Engine, now: datetime, ahead: int = AHEAD) -> list[str]:
    """Make this month's partition and the next ``ahead`` months' of every partitioned
    table; the names made (none when they all exist). One transaction per partition."""
    made: list[str] = []
    first = Month.of(now)
    for table in PARTITIONED:
        for i in range(ahead + 1):
            month = first.plus(i)
            with engine.begin() as conn:
                if not is_partitioned(conn, table):
                    break
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                if add_month(conn, table, month):
                    made.append(partition_name(table, month))
    return made


# --- id ranges ------------------------------------------------------------------------------

def id_partition_name(table: str, lo: int) -> str:
    return f"{table}_id{lo}"


@dataclass(frozen=True)
class Headroom:
    """How far a table partitioned by id can grow: its sequence's last id and the end of
    its last range (exclusive)."""

    table: str
    last_id: int
    end: int

    @property
    def ids_ahead(self) -> int:
        return self.end - 1 - self.last_id


def headroom(conn: Connection, table: str) -> Headroom:
    """``table``'s last id taken (0 when none yet) and where its ranges end."""
    row = conn.execute(text(
        "SELECT (SELECT coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = "
        "current_schema() AND sequencename = :s), (SELECT max(CAST(substring("
        "pg_get_expr(c.relpartbound, c.oid) FROM 'TO \\(''?(-?\\d+)''?\\)') AS bigint)) "
        "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass))"),
        {"s": f"{table}_id_seq", "t": table}).one()
    return Headroom(table, int(row[0]), int(row[1] or 0))


def ensure_ranges(engine: Engine, span: int) -> list[str]:
    """Make ranges of ``span`` ids after the last one of each table partitioned by id until
    a whole empty range lies beyond its sequence's last id; the names made. One transaction
    per partition, under the partition makers' lock."""
    made: list[str] = []
    for table in ID_RANGED:
        while True:
            with engine.begin() as conn:
                if not is_partitioned(conn, table):
                    break
                conn.execute(text("SET LOCAL lock_timeout = '10s'"))
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('topup partitions'))"))
                room = headroom(conn, table)
                if room.end > room.last_id + span:
                    break
                # a sequence moved far past the last range: no ranges for ids it skipped
                lo = room.end + max(0, (room.last_id - room.end) // span) * span
                name = id_partition_name(table, lo)
                conn.execute(text(f'CREATE TABLE "{name}" PARTITION OF "{table}" '
                                  f"FOR VALUES FROM ({lo}) TO ({lo + span})"))
                made.append(name)
    return made


def ensure_partitions(engine: Engine, now: datetime, span: int, ahead: int = AHEAD
                      ) -> list[str]:
    """Every partition due: the months of the logs (``ensure_months``) and the id ranges of
    transfers and orders (``ensure_ranges``); the names made."""
    return ensure_months(engine, now, ahead) + ensure_ranges(engine, span)


# --- archiving ----------------------------------------------------------------------------

class ArchiveRefused(Exception):
    """The archive was asked for something it must not do; nothing was changed."""


@dataclass(frozen=True)
class Archived:
    table: str
    month: str
    rows: int
    file: str
    sha256: str


def _dump(conn: Connection, query: str, path: Path) -> tuple[int, str]:
    """COPY ``query`` as CSV with a header into ``path``; (rows, sha256 of the file)."""
    digest = hashlib.sha256()
    raw = conn.connection.driver_connection
    assert raw is not None
    with path.open("wb") as fh, raw.cursor() as cur:
        with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
            for chunk in copy:
                data = bytes(chunk)
                digest.update(data)
                fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
        rows = cur.rowcount
    return rows, digest.hexdigest()


def archive(engine: Engine, before: Month, folder: Path, now: datetime,
            retention_months: int, only: Sequence[str] = ()) -> list[Archived]:
    """Detach every monthly partition older than ``before`` of the partitioned tables,
    write its rows to ``folder`` (one CSV file per partition, ``manifest.json`` listing each
    file with its row count and sha256), then drop it. Refuses a ``before`` inside the
    retention (newer than this month minus ``retention_months``) and a month of the outbox
    that still holds messages to send. One transaction per partition: the file is written
    and synced before the partition goes. ``only`` names the tables to archive (all when
    empty). Ledger transfers and orders are never archived: asked for, it refuses."""
    for table in only:
        if table in ID_RANGED:
            raise ArchiveRefused(f"{table} is never archived: the books are proved from "
                                 "ledger transfers and their orders")
        if table not in PARTITIONED:
            raise ArchiveRefused(f"{table} is not a partitioned log: one of "
                                 f"{', '.join(PARTITIONED)}")
    newest = Month.of(now).plus(-retention_months)
    if before > newest:
        raise ArchiveRefused(f"--before {before} is inside the retention of {retention_months} "
                             f"months: the newest allowed is {newest}")
    folder.mkdir(parents=True, exist_ok=True)
    done: list[Archived] = []
    with engine.connect() as conn:
        tables = [t for t in PARTITIONED if (not only or t in only) and is_partitioned(conn, t)]
        if not tables:
            raise ArchiveRefused("no partitioned tables here (run 'topup db upgrade')")
        todo = [(t, m) for t in tables for m in months_of(conn, t) if m < before]
        for table, month in todo:  # all or nothing: refuse before touching any
            if table == "notification_outbox":
                _nothing_to_send(conn, month)
    for table, month in todo:
        name = partition_name(table, month)
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            if table == "notification_outbox":  # again, under the lock: a retry may have come
                conn.execute(text(f'LOCK TABLE "{name}" IN EXCLUSIVE MODE'))
                _nothing_to_send(conn, month)
            if table == "usage_records":
                conn.execute(text(f'DELETE FROM usage_record_ids k USING "{name}" u '
                                  "WHERE k.record_id = u.record_id"))
            if table == "notification_outbox":
                path = folder / f"notification_submissions_{month}.csv"
                query = (f'SELECT s.* FROM notification_submissions s JOIN "{name}" o '
                         "ON o.id = s.outbox_id ORDER BY s.id")
                rows, sha = _dump(conn, query, path)
                conn.execute(text(f'DELETE FROM notification_submissions s USING "{name}" o '
                                  "WHERE o.id = s.outbox_id"))
                done.append(Archived("notification_submissions", str(month), rows, path.name,
                                     sha))
            conn.execute(text(f'ALTER TABLE "{table}" DETACH PARTITION "{name}"'))
            path = folder / f"{table}_{month}.csv"
            rows, sha = _dump(conn, f'SELECT * FROM "{name}" ORDER BY id', path)
            count = conn.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            if rows >= 0 and count != rows:
                raise RuntimeError(f"{name}: {count} rows but {rows} written")
            rows = int(count)
            conn.execute(text(f'DROP TABLE "{name}"'))
            done.append(Archived(table, str(month), rows, path.name, sha))
        _write_manifest(folder, done, before, now)
    return done


def _nothing_to_send(conn: Connection, month: Month) -> None:
    busy = conn.execute(text(
        f'SELECT count(*) FROM "{partition_name("notification_outbox", month)}" '
        "WHERE state IN ('queued', 'sending')")).scalar_one()
    if busy:
        raise ArchiveRefused(f"notification_outbox {month} still has {busy} messages to send")


def _write_manifest(folder: Path, done: list[Archived], before: Month, now: datetime) -> None:
    manifest = folder / "manifest.json"
    earlier = json.loads(manifest.read_text()) if manifest.exists() else {"files": []}
    names = {a.file for a in done}
    files = [f for f in earlier.get("files", []) if f.get("file") not in names]
    files += [{"table": a.table, "month": a.month, "rows": a.rows, "file": a.file,
               "sha256": a.sha256, "format": "csv, header, PostgreSQL COPY"} for a in done]
    manifest.write_text(json.dumps({"before": str(before),
                                    "written_at": now.astimezone(UTC).isoformat(),
                                    "files": files}, indent=2) + "\n")
