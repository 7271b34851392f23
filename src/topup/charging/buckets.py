"""Plan buckets: issued on purchase (stacked after a running bucket of the same plan, which is
how a renewal extends validity), started at purchase or first use, listed with what remains.
A bucket bought for a group of lines (``group_id``) stays on its buyer's line for the books and
is drawn by every line in the group (``charging/groups.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, insert, select, update

from topup.charging.tables import bucket_units, buckets
from topup.db.uow import UnitOfWork
from topup.ledger import accounts as kinds
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
    group_id: int | None = None  # bought for this group of lines: shared by its members


def _data_left() -> Any:
    """Data still available in a bucket's data account, as a SQL expression."""
    return accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending


def _used_up() -> Any:
    """Bucket ids whose data is all used (buckets without data are never used up)."""
    return (select(bucket_units.c.bucket_id)
            .join(accounts, accounts.c.id == bucket_units.c.account_id)
            .where(bucket_units.c.unit == "data", _data_left() <= 0))


def _owned_by(line_id: int, group_id: int | None) -> Any:
    """The buckets of a group (whoever bought them), or a line's own (not shared ones)."""
    if group_id is not None:
        return buckets.c.group_id == group_id
    return (buckets.c.line_id == line_id) & buckets.c.group_id.is_(None)


def _renewal_start(uow: UnitOfWork, line_id: int, plan_id: int, group_id: int | None
                   ) -> datetime | None:
    """When a running bucket of the same plan and owner (the line, or the group) ends (a
    purchase then renews it), else None. A bucket whose data is used up is not waited for:
    the new one starts at once."""
    end = uow.conn.execute(select(func.max(buckets.c.expires_at)).where(
        _owned_by(line_id, group_id), buckets.c.plan_id == plan_id,
        buckets.c.state == "active", buckets.c.expires_at > uow.now,
        buckets.c.id.not_in(_used_up()),
    )).scalar()
    return end


def issue_bucket(uow: UnitOfWork, line_id: int, plan: Any, order_id: int,
                 group_id: int | None = None) -> tuple[int, bool]:
    """Give a line (or, with ``group_id``, the group it bought for) the plan's allowances;
    returns (bucket id, whether it renews a running one).

    The allowances come from the operator's supply account of each unit, one idempotent
    transfer per unit keyed by the order, so a retry issues nothing twice. A group's bucket
    is on the buying line's books: its accounts are that line's.
    """
    existing = uow.conn.execute(select(buckets.c.id).where(buckets.c.order_id == order_id)).scalar()
    if existing is not None:
        return int(existing), False
    start = _renewal_start(uow, line_id, plan.id, group_id)
    renews = start is not None
    if start is None and plan.validity_start == "purchase":
        start = uow.now
    end = start + timedelta(days=plan.validity_days) if start else None
    bucket_id = int(uow.conn.execute(insert(buckets).values(
        line_id=line_id, plan_id=plan.id, order_id=order_id, zone_code=plan.zone_code,
        priority=plan.priority, validity_start=plan.validity_start,
        validity_days=plan.validity_days, valid_from=start, expires_at=end, state="active",
        created_at=uow.now, group_id=group_id,
    ).returning(buckets.c.id)).scalar_one())
    for unit, attr in PLAN_UNITS:
        total = int(getattr(plan, attr))
        if total <= 0:
            continue
        acct = ledger.open_account(uow, f"bucket:{bucket_id}:{unit}", unit, kinds.BUCKET,
                                   line_id=line_id, no_overdraft=True)
        uow.conn.execute(insert(bucket_units).values(
            bucket_id=bucket_id, unit=unit, account_id=acct, total=total))
        ledger.transfer(uow, f"order:{order_id}:issue:{unit}",
                        ledger.operator_account(uow, kinds.SUPPLY, unit, line_id=line_id),
                        acct, total,
                        code="plan_issue", ref=f"order:{order_id}")
    return bucket_id, renews


def line_buckets(uow: UnitOfWork, line_id: int, *, include_expired: bool = False
                 ) -> list[BucketView]:
    """The line's buckets (those it bought for a group too), soonest expiry first, with
    remaining and total per unit."""
    return _views(uow, buckets.c.line_id == line_id, include_expired)


def group_buckets(uow: UnitOfWork, group_id: int) -> list[BucketView]:
    """The running buckets bought for a group, soonest expiry first, with remaining and
    total per unit."""
    return _views(uow, buckets.c.group_id == group_id, False)


def _views(uow: UnitOfWork, cond: Any, include_expired: bool) -> list[BucketView]:
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
            r.id, r.plan_id, r.zone_code, r.state, r.valid_from, r.expires_at, {}, r.group_id))
        view.units[r.unit] = {"total": int(r.total), "remaining": int(r.remaining)}
    return list(views.values())


def _units_of(uow: UnitOfWork, bucket_id: int) -> list[Any]:
    return list(uow.conn.execute(
        select(bucket_units.c.unit, bucket_units.c.total, bucket_units.c.account_id,
               accounts.c.debits_posted, accounts.c.debits_pending, accounts.c.credits_posted)
        .join(accounts, accounts.c.id == bucket_units.c.account_id)
        .where(bucket_units.c.bucket_id == bucket_id).order_by(bucket_units.c.unit)))


def untouched(uow: UnitOfWork, bucket_id: int) -> bool:
    """Whether the bucket is live and nothing of it was used or reserved: the condition for
    taking a plan back (a bucket past its end is not live even before the sweep marks it)."""
    row = uow.conn.execute(select(buckets).where(buckets.c.id == bucket_id)).first()
    if row is None or row.state != "active":
        return False
    if row.expires_at is not None and row.expires_at <= uow.now:
        return False
    return all(u.debits_posted == 0 and u.debits_pending == 0 and u.credits_posted == u.total
               for u in _units_of(uow, bucket_id))


def taken_back(uow: UnitOfWork, bucket_id: int) -> bool:
    """Whether the bucket was taken back (its plan refunded)."""
    return uow.conn.execute(select(buckets.c.state).where(
        buckets.c.id == bucket_id)).scalar() == "refunded"


def take_back(uow: UnitOfWork, bucket_id: int, key: str) -> bool:
    """Return an untouched bucket's allowances to supply and mark it ``refunded``.

    Idempotent under ``key`` (a prefix for the per-unit transfers): a bucket already taken
    back returns True again; a used, expired or unknown one returns False and moves nothing.
    The row lock keeps usage from drawing on the bucket meanwhile.
    """
    uow.conn.execute(select(buckets.c.id).where(buckets.c.id == bucket_id).with_for_update())
    if taken_back(uow, bucket_id):
        return True
    if not untouched(uow, bucket_id):
        return False
    line_id = int(uow.conn.execute(select(buckets.c.line_id)
                                   .where(buckets.c.id == bucket_id)).scalar_one())
    for u in _units_of(uow, bucket_id):
        ledger.transfer(uow, f"{key}:{u.unit}", int(u.account_id),
                        ledger.operator_account(uow, kinds.SUPPLY, u.unit, line_id=line_id),
                        int(u.total), code="plan_take_back", ref=f"bucket:{bucket_id}")
    uow.conn.execute(update(buckets).where(buckets.c.id == bucket_id).values(state="refunded"))
    return True


def due_to_expire(uow: UnitOfWork, limit: int) -> list[int]:
    """Active buckets whose end has passed, oldest end first (on PostgreSQL rows another
    worker holds are skipped, so sweeps in parallel share the work)."""
    query = (select(buckets.c.id).where(buckets.c.state == "active",
                                        buckets.c.expires_at <= uow.now)
             .order_by(buckets.c.expires_at, buckets.c.id).limit(limit))
    if uow.dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [int(r) for r in uow.conn.execute(query).scalars()]


def expire_bucket(uow: UnitOfWork, bucket_id: int) -> int | None:
    """End a bucket past its end: what is left of each unit moves to the operator's breakage
    account, and the bucket becomes ``expired``. Returns the plan order's id (its revenue is
    now earned), or None when the bucket was not due (already handled, or not ended)."""
    row = uow.conn.execute(select(buckets).where(buckets.c.id == bucket_id)
                           .with_for_update()).first()
    if row is None or row.state != "active" or row.expires_at is None \
            or row.expires_at > uow.now:
        return None
    for u in _units_of(uow, bucket_id):
        left = ledger.balance(uow, int(u.account_id)).available
        if left > 0:
            ledger.transfer(uow, f"bucket:{bucket_id}:expire:{u.unit}", int(u.account_id),
                            ledger.operator_account(uow, kinds.BREAKAGE, u.unit,
                                                    line_id=row.line_id),
                            left, code="breakage", ref=f"bucket:{bucket_id}")
    uow.conn.execute(update(buckets).where(buckets.c.id == bucket_id).values(state="expired"))
    return int(row.order_id)


def of_line(line_id: int) -> Select[Any]:
    """Ids of every bucket the line bought (for reads keyed by bucket)."""
    return select(buckets.c.id).where(buckets.c.line_id == line_id)


def lines_with_live_buckets(uow: UnitOfWork) -> Select[Any]:
    """Ids of lines holding a bucket not yet ended (unstarted first-use buckets count)."""
    return select(buckets.c.line_id).where(
        buckets.c.state == "active",
        buckets.c.expires_at.is_(None) | (buckets.c.expires_at > uow.now))


def ending_by(uow: UnitOfWork, until: datetime, lines_in: Select[Any], skip: Select[Any],
              limit: int, *, shared: bool = True) -> list[tuple[int, int, int, datetime]]:
    """(bucket, line, plan, end) of active buckets of ``lines_in`` that end by ``until`` and are the
    last of their plan on the line (no renewal stacked after them), except ``skip`` ids;
    ``shared=False`` leaves out the buckets bought for a group."""
    later = buckets.alias("later")
    stacked = select(later.c.id).where(
        later.c.line_id == buckets.c.line_id, later.c.plan_id == buckets.c.plan_id,
        later.c.state == "active", later.c.id != buckets.c.id,
        later.c.expires_at > buckets.c.expires_at).exists()
    cond = [buckets.c.state == "active", buckets.c.expires_at <= until,
            buckets.c.expires_at > uow.now, buckets.c.line_id.in_(lines_in),
            buckets.c.id.not_in(skip), ~stacked]
    if not shared:
        cond.append(buckets.c.group_id.is_(None))
    rows = uow.conn.execute(
        select(buckets.c.id, buckets.c.line_id, buckets.c.plan_id, buckets.c.expires_at)
        .where(*cond).order_by(buckets.c.expires_at, buckets.c.id).limit(limit))
    return [(int(r.id), int(r.line_id), int(r.plan_id), r.expires_at) for r in rows]


def data_used(uow: UnitOfWork, percent: int, skip: Select[Any], limit: int
              ) -> list[tuple[int, int, int, int]]:
    """(bucket, line, total, remaining) of live data buckets of which at least ``percent`` %
    is used, except ``skip`` ids."""
    remaining = (accounts.c.credits_posted - accounts.c.debits_posted
                 - accounts.c.debits_pending)
    rows = uow.conn.execute(
        select(buckets.c.id, buckets.c.line_id, bucket_units.c.total,
               remaining.label("remaining"))
        .join(bucket_units, bucket_units.c.bucket_id == buckets.c.id)
        .join(accounts, accounts.c.id == bucket_units.c.account_id)
        .where(buckets.c.state == "active", bucket_units.c.unit == "data",
               buckets.c.expires_at.is_(None) | (buckets.c.expires_at > uow.now),
               remaining * 100 <= bucket_units.c.total * (100 - percent),
               buckets.c.id.not_in(skip))
        .order_by(buckets.c.id).limit(limit))
    return [(int(r.id), int(r.line_id), int(r.total), int(r.remaining)) for r in rows]


def data_used_up(uow: UnitOfWork, lines_in: Select[Any], plans_in: Select[Any],
                 skip: Select[Any], limit: int) -> list[tuple[int, int, int, datetime | None]]:
    """(bucket, line, plan, end) of live buckets of ``lines_in`` and ``plans_in`` whose data is
    all used, except ``skip`` ids and the buckets bought for a group (auto-renew renews a
    line's own plans)."""
    rows = uow.conn.execute(
        select(buckets.c.id, buckets.c.line_id, buckets.c.plan_id, buckets.c.expires_at).where(
            buckets.c.state == "active", buckets.c.group_id.is_(None),
            buckets.c.expires_at.is_(None) | (buckets.c.expires_at > uow.now),
            buckets.c.id.in_(_used_up()), buckets.c.line_id.in_(lines_in),
            buckets.c.plan_id.in_(plans_in), buckets.c.id.not_in(skip))
        .order_by(buckets.c.id).limit(limit))
    return [(int(r.id), int(r.line_id), int(r.plan_id), r.expires_at) for r in rows]
