"""Usage records applied many to a transaction by the database's writer.

A network report is a ``Usage`` command; ``USAGE.apply`` takes a whole batch of them:
1. one read of their record ids (a known id with the same contents is a replay, with other
   contents a conflict), one of their lines (by ICCID, MSISDN or IMSI, as ``find_line``),
   one of those lines' active buckets, and one of the lines' accounts (locked on PostgreSQL);
2. each record checked with the functions ``record_usage`` uses, then rated in memory in
   arrival order exactly as ``record_usage`` rates it — started buckets of the unit whose zone
   covers the country by soonest expiry, priority and age, then first-use buckets, which start
   at the record's time (and are started for the records after it), then the wallet at the
   out-of-bundle rate, never below zero — with running balances per account; a refusal
   fails that record alone, before anything of it is written;
3. the records written with their final figures in one multi-row insert (their ids read
   back by record id), then the bucket starts, the ledger transfers (the same idempotency
   ids and codes as ``record_usage``) and each account's totals moved once by their sum,
   under row locks taken in id order.

A batch outside the common case (an identifier naming two lines, a line in a group that shares
its plans, an account or a transfer near its range) is rolled back to a savepoint and applied
record by record through the reference path, ``record_usage`` under a savepoint each: in
arrival order, with the same rows and answers. tests/integration/test_usage_batches.py holds
the two paths to the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update

from topup.catalog import service as catalog
from topup.charging.errors import UsageRecordConflict
from topup.charging.service import (
    UsageRecord,
    check_record,
    check_when,
    drawing_order,
    record_hash,
    record_usage,
)
from topup.charging.tables import bucket_units, buckets, usage_records
from topup.db.bulk import Query, among, read_together
from topup.db.group import Kind
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger import accounts as kinds
from topup.ledger import service as ledger
from topup.ledger.tables import MAX_TOTAL, MAX_TRANSFER, accounts, transfers
from topup.subscribers.errors import LineNotFound
from topup.subscribers.groups import any_in_a_group
from topup.subscribers.lines import Line, ensure_usable, find_line
from topup.subscribers.tables import lines as lines_table


@dataclass(frozen=True)
class Usage:
    """One usage record from the network; ``line`` is the identifier the network sent
    (ICCID, MSISDN or IMSI) or a line already found."""

    record_id: str
    line: str | Line
    unit: str
    quantity: int
    country: str
    occurred_at: datetime

    @property
    def kind(self) -> Kind:
        return USAGE


class _Unusual(Exception):
    """The batch holds something that only the reference path does identically."""


@dataclass
class _Bucket:
    id: int
    account_id: int
    zone_code: str
    priority: int
    validity_days: int
    valid_from: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class _Draw:
    suffix: str  # of the idempotency id: ``bucket:<id>`` or ``money``
    debit: int
    credit: int
    unit: str
    amount: int
    code: str


@dataclass
class _Rated:
    line: Line
    digest: str
    record: UsageRecord
    draws: list[_Draw]


@dataclass
class Books:
    """What the batch reads once and keeps up to date in memory while it rates."""

    buckets: dict[tuple[int, str], list[_Bucket]] = field(default_factory=dict)
    totals: dict[int, Any] = field(default_factory=dict)  # locked account rows
    available: dict[int, int] = field(default_factory=dict)
    starts: dict[int, tuple[datetime, datetime]] = field(default_factory=dict)
    zones: dict[str, set[str]] = field(default_factory=dict)
    rates: dict[tuple[str, str, str], tuple[int, int] | None] = field(default_factory=dict)


_LINES = select(lines_table).where(or_(
    lines_table.c.iccid.in_(bindparam("idents", expanding=True)),
    lines_table.c.msisdn.in_(bindparam("idents", expanding=True)),
    lines_table.c.imsi.in_(bindparam("idents", expanding=True))))
_RECORDS = select(usage_records).where(
    usage_records.c.record_id.in_(bindparam("ids", expanding=True)))
# RETURNING with the rows' order kept would go one row per statement on SQLite; the ids are
# read back by record id instead (one statement each way).
_NEW_RECORDS = insert(usage_records)
_RECORD_IDS = select(usage_records.c.record_id, usage_records.c.id).where(
    usage_records.c.record_id.in_(bindparam("ids", expanding=True)))
_START = update(buckets).where(buckets.c.id == bindparam("bid")).values(
    valid_from=bindparam("start"), expires_at=bindparam("end"))


class _UsageKind:
    """The batch kind of ``Usage`` commands."""

    def apply(self, uow: UnitOfWork, commands: Sequence[Usage]) -> list[Any]:
        try:
            with uow.savepoint():
                return _batch(uow, list(commands))
        except _Unusual:
            return [_reference(uow, cmd) for cmd in commands]

    def __repr__(self) -> str:
        return "USAGE"


USAGE = _UsageKind()


def _reference(uow: UnitOfWork, cmd: Usage) -> tuple[UsageRecord, bool] | TopupError:
    """One record the way a lone request does it, under a savepoint."""
    try:
        with uow.savepoint():
            line = cmd.line if isinstance(cmd.line, Line) else find_line(uow, cmd.line)
            return record_usage(uow, cmd.record_id, line, cmd.unit, cmd.quantity,
                                cmd.country, cmd.occurred_at)
    except TopupError as exc:
        return exc


def _batch(uow: UnitOfWork, cmds: list[Usage]) -> list[Any]:
    found = _lines(uow, cmds)
    ids = {line.id for line in found if line is not None}
    if any_in_a_group(uow, ids):
        # the group's buckets, the members' caps and their counted use: the reference path's
        raise _Unusual("a line shares its group's plans")
    stored = {r.record_id: r for r in uow.conn.execute(
        _RECORDS, {"ids": sorted({c.record_id for c in cmds})})}
    books = load_books(uow, ids)
    fresh: dict[str, _Rated] = {}
    out: list[Any] = []
    for cmd, line in zip(cmds, found, strict=True):
        try:
            out.append(_one(uow, books, cmd, line, stored, fresh))
        except TopupError as exc:
            out.append(exc)
    made = list(fresh.values())
    _lock_and_range(uow, books, made)
    if made:
        _write(uow, books, made)
    return [(o[0].record, o[1]) if isinstance(o, tuple) else o for o in out]


def _lines(uow: UnitOfWork, cmds: list[Usage]) -> list[Line | None]:
    """Each command's line, found as ``find_line`` finds it, with one read."""
    idents = {c.line.strip().lstrip("+") for c in cmds if not isinstance(c.line, Line)}
    named: dict[str, Line] = {}
    if idents:
        for row in uow.conn.execute(_LINES, {"idents": sorted(idents)}):
            line = Line.of(row)
            for ident in (line.iccid, line.msisdn, line.imsi):
                if ident is None or ident not in idents:
                    continue
                if ident in named and named[ident].id != line.id:
                    raise _Unusual("an identifier names two lines")
                named[ident] = line
    return [c.line if isinstance(c.line, Line) else named.get(c.line.strip().lstrip("+"))
            for c in cmds]


def load_books(uow: UnitOfWork, line_ids: set[int]) -> Books:
    """The lines' own active buckets (not those bought for a group: the batches leave lines in
    a group to the reference path) and their accounts' totals, the accounts locked in id
    order."""
    books = Books()
    if not line_ids:
        return books
    # The accounts first: on PostgreSQL their locks make a batch of another process that
    # charges the same lines wait for its COMMIT, so the buckets read next are as it left
    # them (a first-use plan it started is started here too).
    ids = {"lines": sorted(line_ids)}
    totals, held = read_together(uow.conn, [(LINE_ACCOUNTS, ids), (LINE_BUCKETS, ids)])
    fill_books(books, totals, held)
    return books


def fill_books(books: Books, totals: Iterable[Any], held: Iterable[Any]) -> None:
    """``books`` from the rows of ``LINE_ACCOUNTS`` and ``LINE_BUCKETS`` (or reads like
    them)."""
    keep_totals(books, totals)
    for r in held:
        books.buckets.setdefault((int(r.line_id), str(r.unit)), []).append(_Bucket(
            int(r.id), int(r.account_id), str(r.zone_code), int(r.priority),
            int(r.validity_days), r.valid_from, r.expires_at))


def keep_totals(books: Books, rows: Iterable[Any]) -> None:
    for row in rows:
        books.totals[row.id] = row
        books.available[row.id] = row.credits_posted - row.debits_posted - row.debits_pending


def accounts_where(dialect: str, *cond: Any) -> Any:
    """The totals of the accounts that meet ``cond``, in id order, locked on PostgreSQL."""
    query = select(accounts.c.id, accounts.c.debits_posted, accounts.c.credits_posted,
                   accounts.c.debits_pending, accounts.c.credits_pending).where(
        *cond).order_by(accounts.c.id)
    return query.with_for_update() if dialect == "postgresql" else query


def buckets_where(*cond: Any) -> Any:
    """The active buckets a line holds of its own that meet ``cond``, a row per unit."""
    return (select(buckets.c.id, buckets.c.line_id, buckets.c.zone_code, buckets.c.priority,
                   buckets.c.validity_days, buckets.c.valid_from, buckets.c.expires_at,
                   bucket_units.c.unit, bucket_units.c.account_id)
            .join(bucket_units, bucket_units.c.bucket_id == buckets.c.id)
            .where(buckets.c.group_id.is_(None), buckets.c.state == "active", *cond))


LINE_ACCOUNTS = Query(lambda d: accounts_where(d, among(d, accounts.c.line_id, "lines")))
LINE_BUCKETS = Query(lambda d: buckets_where(among(d, buckets.c.line_id, "lines")))
ACCOUNTS = Query(lambda d: accounts_where(d, among(d, accounts.c.id, "ids")))
"""Accounts by id (the operator's a batch credits), locked in id order on PostgreSQL."""


def _one(uow: UnitOfWork, books: Books, cmd: Usage, line: Line | None,
         stored: dict[str, Any], fresh: dict[str, _Rated]) -> tuple[_Rated, bool]:
    """The checks of the API route and ``record_usage`` in their order, then the rating."""
    if line is None:
        raise LineNotFound()
    country = check_record(cmd.unit, cmd.quantity, cmd.country)
    digest = record_hash(line.id, cmd.unit, cmd.quantity, country, cmd.occurred_at)
    earlier = fresh.get(cmd.record_id)
    if earlier is None and cmd.record_id in stored:
        row = stored[cmd.record_id]
        earlier = _Rated(line, row.request_hash, UsageRecord.of(row), [])
    if earlier is not None:
        if earlier.digest != digest:
            raise UsageRecordConflict(f"record {cmd.record_id!r} was reported with other "
                                      "contents")
        return earlier, False
    check_when(uow, cmd.occurred_at)
    ensure_usable(line)
    rated = _rate(uow, books, cmd, line, country, digest)
    fresh[cmd.record_id] = rated
    return rated, True


def _rate(uow: UnitOfWork, books: Books, cmd: Usage, line: Line, country: str, digest: str
          ) -> _Rated:
    draws: list[_Draw] = []
    from_buckets = _draw_buckets(uow, books, line.id, cmd, country, draws)
    from_money, charged = _draw_money(uow, books, line, cmd, cmd.quantity - from_buckets,
                                      country, draws)
    record = UsageRecord(
        record_id=cmd.record_id, line_id=line.id, unit=cmd.unit, quantity=cmd.quantity,
        country=country, occurred_at=cmd.occurred_at.astimezone(UTC),
        from_buckets=from_buckets, from_money=from_money, money_charged=charged,
        currency=line.currency if charged else None,
        uncovered=cmd.quantity - from_buckets - from_money)
    return _Rated(line, digest, record, draws)


def eligible(uow: UnitOfWork, books: Books, line_id: int, unit: str, country: str,
              at: datetime) -> list[_Bucket]:
    """``record_usage``'s order of buckets, from the buckets as this batch left them."""
    held = books.buckets.get((line_id, unit))
    if not held:
        return []
    for b in held:  # a plan started by a draw of another of its units in this batch
        if b.valid_from is None and b.id in books.starts:
            b.valid_from, b.expires_at = books.starts[b.id]
    if country not in books.zones:
        books.zones[country] = set(catalog.zones_covering(uow, country))
    zones = books.zones[country]
    return drawing_order(held, zones, at)


def _draw_buckets(uow: UnitOfWork, books: Books, line_id: int, cmd: Usage, country: str,
                  draws: list[_Draw]) -> int:
    left, at = cmd.quantity, cmd.occurred_at
    for b in eligible(uow, books, line_id, cmd.unit, country, at):
        if left == 0:
            break
        take = min(books.available[b.account_id], left)
        if take <= 0:
            continue
        if b.valid_from is None:
            b.valid_from, b.expires_at = at, at + timedelta(days=b.validity_days)
            books.starts[b.id] = (b.valid_from, b.expires_at)
        consumed = ledger.operator_account(uow, kinds.CONSUMED, cmd.unit, line_id=line_id)
        draws.append(_Draw(f"bucket:{b.id}", b.account_id, consumed, cmd.unit, take, "usage"))
        books.available[b.account_id] -= take
        left -= take
    return cmd.quantity - left


def _draw_money(uow: UnitOfWork, books: Books, line: Line, cmd: Usage, left: int,
                country: str, draws: list[_Draw]) -> tuple[int, int]:
    """(quantity covered, minor units charged) from the wallet at the out-of-bundle rate."""
    if left == 0:
        return 0, 0
    key = (country, line.currency, cmd.unit)
    if key not in books.rates:
        books.rates[key] = catalog.oob_rate(uow, country, line.currency, cmd.unit)
    rate = books.rates[key]
    if rate is None:
        return 0, 0
    per_unit, per = rate
    mu = ledger.money_unit(line.currency)
    wallet = ledger.wallet(uow, line.id, line.currency)
    available = books.available.setdefault(wallet, 0)  # a wallet opened just now is empty
    covered = left
    if catalog.oob_charge(per_unit, per, left) > available:
        covered = available * per // per_unit
    charge = catalog.oob_charge(per_unit, per, covered) if covered else 0
    if charge:
        revenue = ledger.operator_account(uow, kinds.REVENUE_USAGE, mu, line_id=line.id)
        draws.append(_Draw("money", wallet, revenue, mu, charge, "usage_oob"))
        books.available[wallet] -= charge
    return covered, charge


def _sums(made: list[_Rated]) -> tuple[dict[int, int], dict[int, int]]:
    debits: dict[int, int] = {}
    credits: dict[int, int] = {}
    for rated in made:
        for d in rated.draws:
            debits[d.debit] = debits.get(d.debit, 0) + d.amount
            credits[d.credit] = credits.get(d.credit, 0) + d.amount
    return debits, credits


def _lock_and_range(uow: UnitOfWork, books: Books, made: list[_Rated]) -> None:
    """Lock the operator accounts the batch credits (id order, after the lines' own) and
    hand the batch to the reference path when a total or a transfer would pass its range."""
    debits, credits = _sums(made)
    others = sorted((set(debits) | set(credits)) - set(books.totals))
    if others:
        keep_totals(books, read_together(uow.conn, [(ACCOUNTS, {"ids": others})])[0])
    if any(d.amount > MAX_TRANSFER for rated in made for d in rated.draws):
        raise _Unusual("a transfer past its range")
    if any(books.totals[a].debits_posted + d > MAX_TOTAL for a, d in debits.items()) or any(
            books.totals[a].credits_posted + c > MAX_TOTAL for a, c in credits.items()):
        raise _Unusual("an account near its range")


def _write(uow: UnitOfWork, books: Books, made: list[_Rated]) -> None:
    """The records with their final figures, bucket starts, transfers, then account totals."""
    now = uow.now
    uow.conn.execute(_NEW_RECORDS, [
        {**r.record.__dict__, "request_hash": r.digest, "created_at": now} for r in made])
    by_record = {rid: i for rid, i in uow.conn.execute(
        _RECORD_IDS, {"ids": [r.record.record_id for r in made]})}
    ids = [by_record[r.record.record_id] for r in made]
    if books.starts:
        uow.conn.execute(_START, [{"bid": b, "start": s, "end": e}
                                  for b, (s, e) in sorted(books.starts.items())])
    moves = [{"idempotency_id": f"usage:{rec_id}:{d.suffix}", "debit_account_id": d.debit,
              "credit_account_id": d.credit, "unit": d.unit, "amount": d.amount,
              "kind": "posted", "pending_id": None, "timeout_at": None, "code": d.code,
              "ref": f"usage:{rec_id}", "created_at": now}
             for r, rec_id in zip(made, ids, strict=True) for d in r.draws]
    if not moves:
        return
    uow.conn.execute(insert(transfers), moves)
    # their rows are locked already (``_load``, ``_lock_and_range``)
    ledger.add_to_totals(uow, *_sums(made))
