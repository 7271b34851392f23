"""Monthly range partitions of the append-only logs on PostgreSQL (docs/partitioning.md).

The tables that only grow with traffic and are read by line and time — usage records, the
notification outbox, the audit log and order events — are partitioned by month on their
time column, with a default partition that catches anything outside the months made so far.
Migration 0032 converts them (``convert``/``unconvert``); ``ensure_months`` makes the next
months ahead (``topup db partitions``, also run by ``topup worker`` at start and daily);
``archive`` detaches months past the retention, writes each to a CSV file with a manifest
(row counts, sha256) and drops it (``topup db archive``). SQLite keeps plain tables.
"""

# Every name spliced into SQL here is a table of PARTITIONED or a partition named from one
# and a Month (digits): never input.
# ruff: noqa: S608
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
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


# --- conversion (migration 0032) ----------------------------------------------------------

# How each table's own unique keys become partitioned ones: the primary key gains the
# partition key; ``usage_records.record_id`` stays globally unique through a key table.
_USAGE_IDS = """
CREATE TABLE usage_record_ids (
  record_id varchar(120) NOT NULL,
  usage_id bigint NOT NULL,
  occurred_at timestamp without time zone NOT NULL,
  CONSTRAINT pk_usage_record_ids PRIMARY KEY (record_id),
  CONSTRAINT fk_usage_record_ids_usage FOREIGN KEY (usage_id, occurred_at)
    REFERENCES usage_records (id, occurred_at) ON DELETE CASCADE
);
CREATE FUNCTION topup_usage_record_id() RETURNS trigger AS $$
BEGIN
  INSERT INTO usage_record_ids (record_id, usage_id, occurred_at)
    VALUES (NEW.record_id, NEW.id, NEW.occurred_at);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER usage_records_record_id_unique AFTER INSERT ON usage_records
  FOR EACH ROW EXECUTE FUNCTION topup_usage_record_id();
"""
_DROP_USAGE_IDS = """
DROP TRIGGER IF EXISTS usage_records_record_id_unique ON usage_records;
DROP TABLE IF EXISTS usage_record_ids;
DROP FUNCTION IF EXISTS topup_usage_record_id();
"""
# notification_submissions.outbox_id cannot reference a partitioned outbox by id alone:
# a trigger checks that the message exists; only the archive removes outbox rows, and it
# takes their submissions with them.
_SUBMISSIONS_CHECK = """
CREATE FUNCTION topup_submission_outbox() RETURNS trigger AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM notification_outbox WHERE id = NEW.outbox_id) THEN
    RAISE EXCEPTION 'notification_submissions.outbox_id % is not in notification_outbox',
      NEW.outbox_id USING ERRCODE = 'foreign_key_violation';
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER notification_submissions_outbox_exists
  BEFORE INSERT OR UPDATE OF outbox_id ON notification_submissions
  FOR EACH ROW EXECUTE FUNCTION topup_submission_outbox();
"""
_SUBMISSIONS_FK = ("fk_notification_submissions_outbox_id_notification_outbox",
                   "FOREIGN KEY (outbox_id) REFERENCES notification_outbox(id)")


def _indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of ``table`` that are not a constraint's."""
    return [(r.indexname, r.indexdef) for r in conn.execute(text(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
        "AND schemaname = current_schema() AND indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))"),
        {"t": table})]


def _foreign_keys(conn: Connection, table: str) -> list[tuple[str, str]]:
    return [(r.conname, r.condef) for r in conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) AS condef FROM pg_constraint "
        "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname"),
        {"t": table})]


def _sequence(conn: Connection, table: str) -> str:
    return str(conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                            {"t": table}).scalar_one())


def _rebuild(conn: Connection, table: str, create_tail: str, pk: str,
             after_create: Callable[[], None]) -> None:
    """Swap ``table`` for a new one made ``LIKE`` it plus ``create_tail`` (with its rows,
    indexes, foreign keys and id sequence), whose primary key is ``pk``."""
    indexes = _indexes(conn, table)
    fks = _foreign_keys(conn, table)
    seq = _sequence(conn, table)
    old = f"{table}_unpartitioned"
    conn.execute(text(f'ALTER TABLE "{table}" RENAME TO "{old}"'))
    conn.execute(text(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS '
                      f"INCLUDING CONSTRAINTS) {create_tail}"))
    conn.execute(text(f'ALTER SEQUENCE {seq} OWNED BY "{table}".id'))
    after_create()
    conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{old}"'))
    conn.execute(text(f'DROP TABLE "{old}"'))
    conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" PRIMARY KEY ({pk})'))
    for _name, definition in indexes:  # as written before the rename
        conn.execute(text(definition.replace(" ON ONLY ", " ON ", 1)))
    for name, definition in fks:
        conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))
    conn.execute(text(f'ANALYZE "{table}"'))


def convert(conn: Connection, table: str, now: datetime) -> None:
    """Make ``table`` range-partitioned by month on its key, keeping its rows: a partition
    for every month it has rows in, this month and ``AHEAD`` more, and a default one."""
    key = PARTITIONED[table]
    bounds = conn.execute(text(f'SELECT min({key}), max({key}) FROM "{table}"')).one()
    months = {Month.of(now).plus(i) for i in range(AHEAD + 1)}
    if bounds[0] is not None:
        m, last = Month.of(bounds[0]), Month.of(bounds[1])
        while m <= last:
            months.add(m)
            m = m.plus(1)

    def partitions() -> None:
        for month in sorted(months):
            conn.execute(text(
                f'CREATE TABLE "{partition_name(table, month)}" PARTITION OF "{table}" '
                f"FOR VALUES FROM ('{month.start}') TO ('{month.plus(1).start}')"))
        conn.execute(text(f'CREATE TABLE "{table}_default" PARTITION OF "{table}" DEFAULT'))

    if table == "notification_outbox":
        conn.execute(text(f"ALTER TABLE notification_submissions DROP CONSTRAINT "
                          f"{_SUBMISSIONS_FK[0]}"))
    if table == "usage_records":
        conn.execute(text("ALTER TABLE usage_records DROP CONSTRAINT "
                          "uq_usage_records_record_id"))
    _rebuild(conn, table, f"PARTITION BY RANGE ({key})", f"id, {key}", partitions)
    if table == "usage_records":
        conn.execute(text("CREATE INDEX ix_usage_records_record_id ON usage_records "
                          "(record_id)"))
        conn.execute(text(_USAGE_IDS))
        conn.execute(text("INSERT INTO usage_record_ids (record_id, usage_id, occurred_at) "
                          "SELECT record_id, id, occurred_at FROM usage_records"))
    if table == "notification_outbox":
        conn.execute(text(_SUBMISSIONS_CHECK))


def unconvert(conn: Connection, table: str) -> None:
    """Make ``table`` a plain table again with all its rows (the downgrade of 0032)."""
    if table == "usage_records":
        conn.execute(text(_DROP_USAGE_IDS))
        conn.execute(text("DROP INDEX ix_usage_records_record_id"))
    if table == "notification_outbox":
        conn.execute(text("DROP TRIGGER notification_submissions_outbox_exists "
                          "ON notification_submissions"))
        conn.execute(text("DROP FUNCTION topup_submission_outbox()"))
    _rebuild(conn, table, "", "id", lambda: None)
    if table == "usage_records":
        conn.execute(text("ALTER TABLE usage_records ADD CONSTRAINT "
                          "uq_usage_records_record_id UNIQUE (record_id)"))
    if table == "notification_outbox":
        conn.execute(text(f"ALTER TABLE notification_submissions ADD CONSTRAINT "
                          f"{_SUBMISSIONS_FK[0]} {_SUBMISSIONS_FK[1]}"))


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
            retention_months: int) -> list[Archived]:
    """Detach every monthly partition older than ``before`` of the partitioned tables,
    write its rows to ``folder`` (one CSV file per partition, ``manifest.json`` listing each
    file with its row count and sha256), then drop it. Refuses a ``before`` inside the
    retention (newer than this month minus ``retention_months``) and a month of the outbox
    that still holds messages to send. One transaction per partition: the file is written
    and synced before the partition goes. Ledger transfers are never archived."""
    newest = Month.of(now).plus(-retention_months)
    if before > newest:
        raise ArchiveRefused(f"--before {before} is inside the retention of {retention_months} "
                             f"months: the newest allowed is {newest}")
    folder.mkdir(parents=True, exist_ok=True)
    done: list[Archived] = []
    with engine.connect() as conn:
        tables = [t for t in PARTITIONED if is_partitioned(conn, t)]
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
