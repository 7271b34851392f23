"""Usage records from the network, rated against buckets first and money second.

Order of drawing: started buckets of the unit whose zone covers the country, soonest expiry
first (then priority, then age); then first-use buckets, which start at the record's time;
then the line's wallet in its home currency at the out-of-bundle rate. Nothing goes below
zero: what neither buckets nor money cover is recorded as ``uncovered``. A line in a group
draws on the group's buckets as on its own, up to its cap (``charging/groups.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import insert, select, update

from topup.catalog import service as catalog
from topup.charging.buckets import line_buckets
from topup.charging.digest import record_digest
from topup.charging.errors import InvalidUsage, UsageRecordConflict
from topup.charging.groups import Share, note_use, share_of
from topup.charging.tables import bucket_units, buckets, usage_records
from topup.db.uow import UnitOfWork
from topup.ledger import accounts as kinds
from topup.ledger import service as ledger
from topup.subscribers.lines import Line, ensure_usable

UNITS = ("data", "voice", "sms")


@dataclass(frozen=True)
class UsageRecord:
    """A network usage report and how it was charged."""

    record_id: str
    line_id: int
    unit: str
    quantity: int
    country: str
    occurred_at: datetime
    from_buckets: int
    from_money: int
    money_charged: int
    currency: str | None
    uncovered: int

    @classmethod
    def of(cls, row: Any) -> UsageRecord:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def check_record(unit: str, quantity: int, country: str) -> str:
    """The record's country in capitals, once its unit, quantity and country are valid."""
    if unit not in UNITS or quantity <= 0 or len(country) != 2 or not country.isalpha():
        raise InvalidUsage("unit is data, voice or sms; quantity > 0; country ISO 3166 alpha-2")
    return country.upper()


def record_hash(line_id: int, unit: str, quantity: int, country: str, at: datetime) -> str:
    """What a record id stands for: a repeat with another hash is a conflict."""
    return record_digest(line_id, unit, quantity, country, at.isoformat())


def _eligible(uow: UnitOfWork, line_id: int, unit: str, country: str, at: datetime,
              share: Share | None = None) -> list[Any]:
    """The line's own buckets of ``unit`` (and, in a group, the group's) in drawing order."""
    zones = set(catalog.zones_covering(uow, country))
    owned = (buckets.c.line_id == line_id) & buckets.c.group_id.is_(None)
    if share is not None:
        owned = owned | (buckets.c.group_id == share.group_id)
    rows = uow.conn.execute(
        select(buckets, bucket_units.c.account_id)
        .join(bucket_units, bucket_units.c.bucket_id == buckets.c.id)
        .where(owned, buckets.c.state == "active", bucket_units.c.unit == unit)
    ).all()
    return drawing_order(rows, zones, at)


def drawing_order(rows: Iterable[Any], zones: set[str], at: datetime) -> list[Any]:
    """The buckets a record at ``at`` draws from, in order: started ones by soonest expiry
    (then priority, then age), then first-use ones (priority, age); only those whose zone is
    in ``zones``. ``rows`` are bucket rows or anything with their attributes (the batch's)."""
    # The network stamps usage in whole seconds (at best): a plan that starts within the
    # second of ``at`` (bought at 09:00:00.75, used at 09:00:00) has started for it.
    started = [r for r in rows if r.valid_from is not None and r.expires_at is not None
               and r.valid_from.replace(microsecond=0) <= at < r.expires_at]
    unstarted = [r for r in rows if r.valid_from is None]
    started.sort(key=lambda r: (r.expires_at, r.priority, r.id))
    unstarted.sort(key=lambda r: (r.priority, r.id))
    return [r for r in started + unstarted if r.zone_code in zones]


def _draw_buckets(uow: UnitOfWork, rec_id: int, line_id: int, unit: str, quantity: int,
                  country: str, at: datetime) -> int:
    left = quantity
    share = share_of(uow, line_id)
    for b in _eligible(uow, line_id, unit, country, at, share):
        if left == 0:
            break
        available = ledger.balance(uow, b.account_id).available
        take = min(available, left)
        if share is not None:
            take = share.allows(b, unit, take)
        if take <= 0:
            continue
        if b.valid_from is None:
            uow.conn.execute(update(buckets).where(buckets.c.id == b.id).values(
                valid_from=at, expires_at=at + timedelta(days=b.validity_days)))
        ledger.transfer(uow, f"usage:{rec_id}:bucket:{b.id}", b.account_id,
                        ledger.operator_account(uow, kinds.CONSUMED, unit, line_id=line_id),
                        take,
                        code="usage", ref=f"usage:{rec_id}")
        if share is not None and b.group_id is not None:
            share.spend(b, unit, take)
            note_use(uow, b.id, line_id, unit, take)
        left -= take
    return quantity - left


def _draw_money(uow: UnitOfWork, rec_id: int, line: Line, unit: str, left: int,
                country: str) -> tuple[int, int]:
    """(quantity covered, minor units charged) from the wallet at the out-of-bundle rate."""
    rate = catalog.oob_rate(uow, country, line.currency, unit)
    if left == 0 or rate is None:
        return 0, 0
    per_unit, per = rate
    mu = ledger.money_unit(line.currency)
    wallet = ledger.wallet(uow, line.id, line.currency)
    available = ledger.balance(uow, wallet).available
    covered = left
    if catalog.oob_charge(per_unit, per, left) > available:
        covered = available * per // per_unit
    charge = catalog.oob_charge(per_unit, per, covered) if covered else 0
    if charge:
        ledger.transfer(uow, f"usage:{rec_id}:money", wallet,
                        ledger.operator_account(uow, kinds.REVENUE_USAGE, mu, line_id=line.id),
                        charge,
                        code="usage_oob", ref=f"usage:{rec_id}")
    return covered, charge


def check_when(uow: UnitOfWork, occurred_at: datetime) -> None:
    """Refuse a record dated outside the window the network can honestly report in (a year
    9999 or 1970 timestamp would start first-use plans at absurd times)."""
    settings = uow.settings
    earliest = uow.now - timedelta(days=settings.usage_max_age_days)
    latest = uow.now + timedelta(seconds=settings.usage_max_ahead_seconds)
    if occurred_at.tzinfo is None or not earliest <= occurred_at <= latest:
        raise InvalidUsage(f"occurred_at must lie between {earliest.isoformat()} and "
                           f"{latest.isoformat()}", field="occurred_at")


def record_usage(uow: UnitOfWork, record_id: str, line: Line, unit: str, quantity: int,
                 country: str, occurred_at: datetime) -> tuple[UsageRecord, bool]:
    """Rate one usage record exactly once; returns (record, created now).

    The same record id with the same contents returns the first result; with other
    contents it raises UsageRecordConflict.
    """
    country = check_record(unit, quantity, country)
    digest = record_hash(line.id, unit, quantity, country, occurred_at)
    found = uow.conn.execute(
        select(usage_records).where(usage_records.c.record_id == record_id)).first()
    if found is not None:
        if found.request_hash != digest:
            raise UsageRecordConflict(f"record {record_id!r} was reported with other contents")
        return UsageRecord.of(found), False
    check_when(uow, occurred_at)
    ensure_usable(line)
    rec_id = int(uow.conn.execute(insert(usage_records).values(
        record_id=record_id, request_hash=digest, line_id=line.id, unit=unit,
        quantity=quantity, country=country, occurred_at=occurred_at, from_buckets=0,
        from_money=0, money_charged=0, currency=None, uncovered=quantity, created_at=uow.now,
    ).returning(usage_records.c.id)).scalar_one())
    from_buckets = _draw_buckets(uow, rec_id, line.id, unit, quantity, country, occurred_at)
    from_money, charged = _draw_money(uow, rec_id, line, unit, quantity - from_buckets, country)
    # the partition key too: PostgreSQL looks in one monthly partition (docs/partitioning.md)
    this = (usage_records.c.id == rec_id) & (usage_records.c.occurred_at == occurred_at)
    uow.conn.execute(update(usage_records).where(this).values(
        from_buckets=from_buckets, from_money=from_money, money_charged=charged,
        currency=line.currency if charged else None,
        uncovered=quantity - from_buckets - from_money))
    row = uow.conn.execute(select(usage_records).where(this)).one()
    return UsageRecord.of(row), True


def usage_history(uow: UnitOfWork, line_id: int, *, limit: int, before: int | None = None
                  ) -> list[tuple[int, UsageRecord]]:
    """(row id, record) pairs for a line, newest first, keyset-paged."""
    cond = usage_records.c.line_id == line_id
    if before is not None:
        cond = cond & (usage_records.c.id < before)
    rows = uow.conn.execute(select(usage_records).where(cond)
                            .order_by(usage_records.c.id.desc()).limit(limit))
    return [(int(r.id), UsageRecord.of(r)) for r in rows]


def daily_totals(uow: UnitOfWork, line_id: int, unit: str, since: datetime, zone: tzinfo
                 ) -> dict[date, int]:
    """A line's use of ``unit`` per local day (in ``zone``) from ``since`` until now, for
    charts; days without use are absent. Bounded on both sides (no record lies further
    ahead than ``usage_max_ahead_seconds``) so PostgreSQL reads only the months in between."""
    until = uow.now + timedelta(seconds=uow.settings.usage_max_ahead_seconds)
    rows = uow.conn.execute(select(usage_records.c.occurred_at, usage_records.c.quantity).where(
        usage_records.c.line_id == line_id, usage_records.c.unit == unit,
        usage_records.c.occurred_at >= since, usage_records.c.occurred_at <= until))
    totals: dict[date, int] = {}
    for at, quantity in rows:
        day = at.astimezone(zone).date()
        totals[day] = totals.get(day, 0) + int(quantity)
    return totals


__all__ = ["UsageRecord", "daily_totals", "line_buckets", "record_usage", "usage_history"]
