"""Data sold (allowances issued with plans) against data used (what the network reported),
per UTC day: the figures behind the console's dashboard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from topup.charging.tables import bucket_units, buckets, usage_records
from topup.db.dialect import utc_day
from topup.db.uow import UnitOfWork


def data_sold_per_day(uow: UnitOfWork, since: datetime) -> dict[str, int]:
    """Bytes of data allowance issued per UTC day since ``since`` (plans refunded untouched
    are left out: they were never really sold)."""
    day = utc_day(uow, buckets.c.created_at)
    rows = uow.conn.execute(
        select(day, func.sum(bucket_units.c.total))
        .select_from(buckets.join(bucket_units, bucket_units.c.bucket_id == buckets.c.id))
        .where(bucket_units.c.unit == "data", buckets.c.created_at >= since,
               buckets.c.state != "refunded")
        .group_by(day))
    return {str(d): int(total) for d, total in rows}


def data_used_per_day(uow: UnitOfWork, since: datetime) -> dict[str, int]:
    """Bytes the network reported used per UTC day since ``since`` (from plans or money)."""
    day = utc_day(uow, usage_records.c.occurred_at)
    rows = uow.conn.execute(
        select(day, func.sum(usage_records.c.quantity))
        .where(usage_records.c.unit == "data", usage_records.c.occurred_at >= since)
        .group_by(day))
    return {str(d): int(total) for d, total in rows}
