"""partitioned by id: ledger transfers and orders become range-partitioned on ``id`` on
PostgreSQL (docs/partitioning.md); their unique keys other than ``id`` move to key tables
filled by triggers; SQLite is unchanged

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 01:40:00.000000

Self-contained, as a migration must be: what it does never changes with the application's
code (``topup.db.partitions`` makes the ranges ahead at run time).
"""

# Every name spliced into SQL here is a table of TABLES, a name read from the catalogue for
# one of them, or a partition named from one and a number: never input.
# ruff: noqa: S608
from __future__ import annotations

import os
from collections.abc import Callable

from alembic import op
from sqlalchemy import text
from sqlalchemy.engine import Connection

revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None

TABLES = ("orders", "ledger_transfers")
SPAN = 10_000_000  # ids per partition, unless TOPUP_PARTITION_ID_SPAN says otherwise

# The unique indexes that cannot stay unique on a table partitioned by id: each becomes a
# plain index of the same columns on every partition (the look-ups keep it), its guarantee
# kept by a key table below.
_UNIQUE_INDEXES = {"uq_orders_payment_ref": "ix_orders_payment_ref",
                   "uq_ledger_transfers_pending_id": "ix_ledger_transfers_pending_id"}
# ... and the unique constraint that goes with no index left behind: the key table is it.
_UNIQUE_CONSTRAINT = ("ledger_transfers", "uq_ledger_transfers_idempotency_id",
                      "UNIQUE (idempotency_id)")

# One row per transfer: the idempotency id (the key), and the pending transfer it resolves
# (unique where set). The ledger's own INSERT claims the key first in the same statement
# (``INSERT … ON CONFLICT (idempotency_id) DO NOTHING``, so a duplicate moves nothing and
# waits on an in-flight twin as before); any other INSERT gets its key from the trigger, and
# a duplicate there is a unique violation, as the UNIQUE constraint raised. The trigger tries
# the insert first: the multi-row inserts of the writer's batches, where nothing was claimed,
# pay one statement a row; the ledger's own insert pays a second, to find its own claim.
# No foreign key to the transfer (its check cost a third as much again as the trigger): a
# key row is written in the statement that writes its transfer, transfers are never deleted
# (``ledger_transfers_append_only``), and a TRUNCATE of the transfers empties the keys too.
_TRANSFER_KEYS = """
CREATE TABLE ledger_transfer_ids (
  idempotency_id varchar(200) NOT NULL,
  transfer_id bigint NOT NULL,
  pending_id bigint,
  CONSTRAINT pk_ledger_transfer_ids PRIMARY KEY (idempotency_id)
);
CREATE UNIQUE INDEX uq_ledger_transfer_ids_pending_id ON ledger_transfer_ids (pending_id)
  WHERE pending_id IS NOT NULL;
INSERT INTO ledger_transfer_ids (idempotency_id, transfer_id, pending_id)
  SELECT idempotency_id, id, pending_id FROM ledger_transfers;
CREATE FUNCTION topup_ledger_transfer_key() RETURNS trigger AS $$
BEGIN
  INSERT INTO ledger_transfer_ids (idempotency_id, transfer_id, pending_id)
    VALUES (NEW.idempotency_id, NEW.id, NEW.pending_id)
    ON CONFLICT (idempotency_id) DO NOTHING;
  IF NOT FOUND THEN  -- claimed already: by the statement that wrote this row, or a duplicate
    PERFORM 1 FROM ledger_transfer_ids
      WHERE idempotency_id = NEW.idempotency_id AND transfer_id = NEW.id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'duplicate key value violates unique constraint "pk_ledger_transfer_ids"'
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'pk_ledger_transfer_ids',
              DETAIL = format('Key (idempotency_id)=(%s) already exists.', NEW.idempotency_id);
    END IF;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transfers_keys AFTER INSERT ON ledger_transfers
  FOR EACH ROW EXECUTE FUNCTION topup_ledger_transfer_key();
CREATE FUNCTION topup_ledger_transfer_keys_truncate() RETURNS trigger AS $$
BEGIN
  TRUNCATE ledger_transfer_ids;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_transfers_keys_truncate AFTER TRUNCATE ON ledger_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION topup_ledger_transfer_keys_truncate();
"""
_DROP_TRANSFER_KEYS = """
DROP TRIGGER IF EXISTS ledger_transfers_keys ON ledger_transfers;
DROP TRIGGER IF EXISTS ledger_transfers_keys_truncate ON ledger_transfers;
DROP TABLE IF EXISTS ledger_transfer_ids;
DROP FUNCTION IF EXISTS topup_ledger_transfer_key();
DROP FUNCTION IF EXISTS topup_ledger_transfer_keys_truncate();
"""
# An order's payment reference is set when its payment starts (an UPDATE) or with the order.
_ORDER_KEYS = """
CREATE TABLE order_payment_refs (
  payment_ref varchar(120) NOT NULL,
  order_id bigint NOT NULL,
  CONSTRAINT pk_order_payment_refs PRIMARY KEY (payment_ref),
  CONSTRAINT fk_order_payment_refs_order FOREIGN KEY (order_id)
    REFERENCES orders (id) ON DELETE CASCADE
);
INSERT INTO order_payment_refs (payment_ref, order_id)
  SELECT payment_ref, id FROM orders WHERE payment_ref IS NOT NULL;
CREATE FUNCTION topup_order_payment_ref() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.payment_ref IS NOT NULL THEN
    DELETE FROM order_payment_refs WHERE payment_ref = OLD.payment_ref AND order_id = OLD.id;
  END IF;
  IF NEW.payment_ref IS NOT NULL THEN
    INSERT INTO order_payment_refs (payment_ref, order_id) VALUES (NEW.payment_ref, NEW.id);
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER orders_payment_ref_new AFTER INSERT ON orders
  FOR EACH ROW WHEN (NEW.payment_ref IS NOT NULL) EXECUTE FUNCTION topup_order_payment_ref();
CREATE TRIGGER orders_payment_ref_set AFTER UPDATE OF payment_ref ON orders
  FOR EACH ROW WHEN (OLD.payment_ref IS DISTINCT FROM NEW.payment_ref)
  EXECUTE FUNCTION topup_order_payment_ref();
"""
_DROP_ORDER_KEYS = """
DROP TRIGGER IF EXISTS orders_payment_ref_new ON orders;
DROP TRIGGER IF EXISTS orders_payment_ref_set ON orders;
DROP TABLE IF EXISTS order_payment_refs;
DROP FUNCTION IF EXISTS topup_order_payment_ref();
"""
_KEYS = {"orders": (_ORDER_KEYS, _DROP_ORDER_KEYS),
         "ledger_transfers": (_TRANSFER_KEYS, _DROP_TRANSFER_KEYS)}


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    span = int(os.environ.get("TOPUP_PARTITION_ID_SPAN") or SPAN)
    for table in TABLES:
        convert(conn, table, span)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table in reversed(TABLES):
        unconvert(conn, table)


def partition_name(table: str, lo: int) -> str:
    return f"{table}_id{lo}"


def _rows(conn: Connection, sql: str, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute(text(sql), {"t": table})]


def _indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the indexes of ``table`` that are not a constraint's."""
    return _rows(conn, "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = :t "
                 "AND schemaname = current_schema() AND indexname NOT IN "
                 "(SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))",
                 table)


def _own_foreign_keys(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the foreign keys of ``table`` to other tables."""
    return _rows(conn, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                 "WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' "
                 "AND confrelid <> CAST(:t AS regclass) AND conparentid = 0 ORDER BY conname",
                 table)


def _foreign_keys_to(conn: Connection, table: str) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the foreign keys referencing ``table`` (itself too),
    each once (not the copies PostgreSQL keeps per partition)."""
    return [(r[0], r[1], r[2]) for r in conn.execute(text(
        "SELECT CAST(conrelid AS regclass)::text, conname, pg_get_constraintdef(oid) "
        "FROM pg_constraint WHERE confrelid = CAST(:t AS regclass) AND contype = 'f' "
        "AND conparentid = 0 ORDER BY 1, 2"), {"t": table})]


def _triggers(conn: Connection, table: str) -> list[str]:
    return [str(r[0]) for r in conn.execute(text(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = CAST(:t AS regclass) "
        "AND NOT tgisinternal AND tgparentid = 0 ORDER BY tgname"), {"t": table})]


def _rebuild(conn: Connection, table: str, create_tail: str, after_create: Callable[[], None],
             index: Callable[[str], str]) -> None:
    """Swap ``table`` for a new one made ``LIKE`` it plus ``create_tail``, with its rows,
    indexes (each definition through ``index``), foreign keys both ways, triggers and id
    sequence; primary key ``(id)``."""
    indexes = _indexes(conn, table)
    fks = _own_foreign_keys(conn, table)
    incoming = _foreign_keys_to(conn, table)
    triggers = _triggers(conn, table)
    seq = str(conn.execute(text("SELECT pg_get_serial_sequence(:t, 'id')"),
                           {"t": table}).scalar_one())
    for referencing, name, _ in incoming:
        conn.execute(text(f'ALTER TABLE {referencing} DROP CONSTRAINT "{name}"'))
    old = f"{table}_unpartitioned"
    conn.execute(text(f'ALTER TABLE "{table}" RENAME TO "{old}"'))
    conn.execute(text(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS '
                      f"INCLUDING CONSTRAINTS) {create_tail}"))
    conn.execute(text(f'ALTER SEQUENCE {seq} OWNED BY "{table}".id'))
    after_create()
    conn.execute(text(f'INSERT INTO "{table}" SELECT * FROM "{old}"'))
    conn.execute(text(f'DROP TABLE "{old}"'))
    conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" PRIMARY KEY (id)'))
    for _name, definition in indexes:  # as written before the rename
        conn.execute(text(index(definition.replace(" ON ONLY ", " ON ", 1))))
    for name, definition in fks:
        conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}'))
    for definition in triggers:
        conn.execute(text(definition))
    for referencing, name, definition in incoming:
        conn.execute(text(f'ALTER TABLE {referencing} ADD CONSTRAINT "{name}" {definition}'))
    conn.execute(text(f'ANALYZE "{table}"'))


def _swap(definition: str, names: dict[str, str], unique: bool) -> str:
    for old, new in names.items():
        if f" INDEX {old} " in definition:
            was, now = ("UNIQUE INDEX", "INDEX") if unique else ("INDEX", "UNIQUE INDEX")
            return definition.replace(f"CREATE {was} {old} ", f"CREATE {now} {new} ", 1)
    return definition


def convert(conn: Connection, table: str, span: int) -> None:
    """Make ``table`` range-partitioned on ``id`` in partitions of ``span`` ids, keeping its
    rows: every range up to the larger of its highest id and its sequence, and one more."""
    top = conn.execute(text(
        f'SELECT greatest((SELECT coalesce(max(id), 0) FROM "{table}"), '
        f"(SELECT coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = "
        f"current_schema() AND sequencename = :s))"), {"s": f"{table}_id_seq"}).scalar_one()

    def partitions() -> None:
        for k in range(int(top) // span + 2):
            lo = "MINVALUE" if k == 0 else str(k * span)
            conn.execute(text(
                f'CREATE TABLE "{partition_name(table, k * span)}" PARTITION OF "{table}" '
                f"FOR VALUES FROM ({lo}) TO ({(k + 1) * span})"))

    if table == _UNIQUE_CONSTRAINT[0]:
        conn.execute(text(f'ALTER TABLE "{table}" DROP CONSTRAINT "{_UNIQUE_CONSTRAINT[1]}"'))
    _rebuild(conn, table, "PARTITION BY RANGE (id)", partitions,
             lambda d: _swap(d, _UNIQUE_INDEXES, unique=True))
    conn.execute(text(_KEYS[table][0]))


def unconvert(conn: Connection, table: str) -> None:
    """Make ``table`` a plain table again with all its rows (the downgrade of 0033)."""
    conn.execute(text(_KEYS[table][1]))
    _rebuild(conn, table, "", lambda: None,
             lambda d: _swap(d, {v: k for k, v in _UNIQUE_INDEXES.items()}, unique=False))
    if table == _UNIQUE_CONSTRAINT[0]:
        conn.execute(text(f'ALTER TABLE "{table}" ADD CONSTRAINT "{_UNIQUE_CONSTRAINT[1]}" '
                          f"{_UNIQUE_CONSTRAINT[2]}"))
