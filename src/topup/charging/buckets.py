"""Plan buckets: issued on purchase (stacked after a running bucket of the same plan, which is
how a renewal extends validity), started at purchase or first use, listed with what remains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from topup.charging.tables import bucket_units, buckets
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.tables import accounts

PLAN_UNITS = (("data", "data_bytes"), ("voice", "voice_seconds"), ("sms", "sms_count"))


@dataclass(frozen=True)
class BucketView:
    """One bucket on a line with what is left of each unit."""

    id: int
    plan_id: int
    zone_code: str
    state: str
    valid_from: datetime | None
    expires_at: datetime | None
    units: dict[str, dict[str, int]]  # unit -> {"total": …, "remaining": …}


def _renewal_start(uow: UnitOfWork, line_id: int, plan_id: int) -> datetime | None:
    """When a running bucket of the same plan ends (a purchase then renews it), else None."""
    end = uow.conn.execute(select(func.max(buckets.c.expires_at)).where(
        buckets.c.line_id == line_id, buckets.c.plan_id == plan_id,
        buckets.c.state == "active", buckets.c.expires_at > uow.now,
    )).scalar()
    return end


def issue_bucket(uow: UnitOfWork, line_id: int, plan: Any, order_id: int) -> tuple[int, bool]:
    """Give a line the plan's allowances; returns (bucket id, whether it renews a running one).

    The allowances come from the operator's supply account of each unit, one idempotent
    transfer per unit keyed by the order, so a retry issues nothing twice.
    """
    existing = uow.conn.execute(select(buckets.c.id).where(buckets.c.order_id == order_id)).scalar()
    if existing is not None:
        return int(existing), False
    start = _renewal_start(uow, line_id, plan.id)
    renews = start is not None
    if start is None and plan.validity_start == "purchase":
        start = uow.now
    end = start + timedelta(days=plan.validity_days) if start else None
    bucket_id = int(uow.conn.execute(insert(buckets).values(
        line_id=line_id, plan_id=plan.id, order_id=order_id, zone_code=plan.zone_code,
        priority=plan.priority, validity_start=plan.validity_start,
        validity_days=plan.validity_days, valid_from=start, expires_at=end, state="active",
        created_at=uow.now,
    ).returning(buckets.c.id)).scalar_one())
    for unit, attr in PLAN_UNITS:
        total = int(getattr(plan, attr))
        if total <= 0:
            continue
        acct = ledger.open_account(uow, f"bucket:{bucket_id}:{unit}", unit, "bucket",
                                   line_id=line_id, no_overdraft=True)
        uow.conn.execute(insert(bucket_units).values(
            bucket_id=bucket_id, unit=unit, account_id=acct, total=total))
        ledger.transfer(uow, f"order:{order_id}:issue:{unit}",
                        ledger.operator_account(uow, "supply", unit, line_id=line_id), acct, total,
                        code="plan_issue", ref=f"order:{order_id}")
    return bucket_id, renews


def line_buckets(uow: UnitOfWork, line_id: int, *, include_expired: bool = False
                 ) -> list[BucketView]:
    """The line's buckets, soonest expiry first, with remaining and total per unit."""
    cond = buckets.c.line_id == line_id
    if not include_expired:
        cond = cond & (buckets.c.state == "active") & (
            buckets.c.expires_at.is_(None) | (buckets.c.expires_at > uow.now))
    rows = uow.conn.execute(
        select(buckets, bucket_units.c.unit, bucket_units.c.total,
               (accounts.c.credits_posted - accounts.c.debits_posted
                - accounts.c.debits_pending).label("remaining"))
        .join(bucket_units, bucket_units.c.bucket_id == buckets.c.id)
        .join(accounts, accounts.c.id == bucket_units.c.account_id)
        .where(cond).order_by(buckets.c.expires_at.is_(None), buckets.c.expires_at, buckets.c.id)
    ).all()
    views: dict[int, BucketView] = {}
    for r in rows:
        view = views.setdefault(r.id, BucketView(
            r.id, r.plan_id, r.zone_code, r.state, r.valid_from, r.expires_at, {}))
        view.units[r.unit] = {"total": int(r.total), "remaining": int(r.remaining)}
    return list(views.values())
