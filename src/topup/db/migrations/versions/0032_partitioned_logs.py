"""partitioned logs: usage records, the notification outbox, the audit log and order events
become range-partitioned by month on PostgreSQL (docs/partitioning.md); SQLite is unchanged

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 23:10:00.000000

Self-contained, as a migration must be: what it does never changes with the application's
code (``topup.db.partitions`` makes months ahead and archives at run time).
"""

# Every name spliced into SQL here is a table of TABLES or a partition named from one and a
# month (digits): never input.
# ruff: noqa: S608
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import text
from sqlalchemy.engine import Connection

revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None

# table -> its partition key, as this revision made them
TABLES: dict[str, str] = {
    "usage_records": "occurred_at",
    "notification_outbox": "created_at",
    "audit_log": "at",
    "order_events": "at",
}
AHEAD = 3  # months made ahead of the current one


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    now = datetime.now(UTC)
    for table in TABLES:
        convert(conn, table, now)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table in reversed(list(TABLES)):
        unconvert(conn, table)


class Month(tuple[int, int]):
    """(year, month), ordered. Not a dataclass: Alembic loads a migration without a module
    entry, which a dataclass with postponed annotations needs."""

    __slots__ = ()

    def __new__(cls, year: int, month: int) -> Month:
        return super().__new__(cls, (year, month))

    @property
    def year(self) -> int:
        return self[0]

    @property
    def month(self) -> int:
        return self[1]

    @classmethod
    def of(cls, at: datetime) -> Month:
        return cls(at.year, at.month)

    def plus(self, months: int) -> Month:
        n = self.year * 12 + self.month - 1 + months
        return Month(n // 12, n % 12 + 1)

    @property
    def start(self) -> str:
        return f"{self.year:04d}-{self.month:02d}-01 00:00:00"


def partition_name(table: str, month: Month) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


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
    key = TABLES[table]
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
