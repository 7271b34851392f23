"""Plans shared by a group of lines: which buckets a member draws on, how much more of the
group's data its cap lets it take, what each member used, and the pool as members see it.

A bucket bought for a group (``buckets.group_id``) stays on its buyer's books (``line_id``
and its ledger accounts) and is drawn by every line in the group now, in the one drawing
order of ``service.drawing_order``, together with the line's own buckets. Each unit drawn
from a shared bucket is counted for the line that drew it (``group_member_use``; what the
line's open charging sessions hold on shared buckets is read from their holds). A member's
cap bounds the data it draws from the group's running plans (used plus held): at its cap it
draws no more from them and falls through to its own buckets and wallet, exactly as when no
shared bucket covers it. A line that left the group draws no more; what it used stays.

Membership is the subscribers area's (``subscribers/groups.py``): a group is a fact about a
customer's lines; drawing on one is charging's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from topup.charging.buckets import BucketView, group_buckets
from topup.charging.tables import (
    HELD,
    buckets,
    charging_grants,
    charging_holds,
    charging_sessions,
    group_member_use,
)
from topup.db.dialect import upsert
from topup.db.uow import UnitOfWork
from topup.ledger.tables import transfers
from topup.subscribers import groups as membership
from topup.subscribers.groups import Member

CAPPED = "data"  # the unit a member's cap counts (bytes)


@dataclass
class Share:
    """A line's seat in its group while one record or grant is rated: ``room`` is the data
    its cap still allows from the group's plans (None: no cap)."""

    group_id: int
    line_id: int
    room: int | None

    def allows(self, bucket: Any, unit: str, amount: int) -> int:
        """How much of ``amount`` the cap lets the line draw from ``bucket`` now."""
        if bucket.group_id is None or unit != CAPPED or self.room is None:
            return amount
        return min(amount, self.room)

    def spend(self, bucket: Any, unit: str, amount: int) -> None:
        """Count ``amount`` drawn (or held) from ``bucket`` against the room left."""
        if bucket.group_id is not None and unit == CAPPED and self.room is not None:
            self.room -= amount


def share_of(uow: UnitOfWork, line_id: int) -> Share | None:
    """The line's seat in its group now (its row locked on PostgreSQL, so two draws of one
    member weigh the cap in turn), or None when it is in no group."""
    stay = membership.membership(uow, line_id, lock=True)
    if stay is None:
        return None
    room = None
    if stay.cap_bytes is not None:
        room = max(stay.cap_bytes - sum(member_use(uow, stay.group_id, line_id)), 0)
    return Share(stay.group_id, line_id, room)


def _running(uow: UnitOfWork, group_id: int) -> Any:
    """The group's buckets still running (their use counts against caps)."""
    return and_(buckets.c.group_id == group_id, buckets.c.state == "active",
                buckets.c.expires_at.is_(None) | (buckets.c.expires_at > uow.now))


def member_use(uow: UnitOfWork, group_id: int, line_id: int) -> tuple[int, int]:
    """(used, held): the data the line drew from the group's running plans, and what its open
    charging sessions hold on them now."""
    used = uow.conn.execute(
        select(func.coalesce(func.sum(group_member_use.c.used), 0))
        .join(buckets, buckets.c.id == group_member_use.c.bucket_id)
        .where(_running(uow, group_id), group_member_use.c.line_id == line_id,
               group_member_use.c.unit == CAPPED)).scalar_one()
    resolved = select(transfers.c.id).where(
        transfers.c.pending_id == charging_holds.c.transfer_id).exists()
    held = uow.conn.execute(
        select(func.coalesce(func.sum(charging_holds.c.quantity), 0))
        .join(charging_grants, charging_grants.c.id == charging_holds.c.grant_id)
        .join(charging_sessions, charging_sessions.c.id == charging_grants.c.session_id)
        .join(buckets, buckets.c.id == charging_holds.c.bucket_id)
        .where(_running(uow, group_id), charging_sessions.c.line_id == line_id,
               HELD, charging_grants.c.unit == CAPPED,
               ~resolved)).scalar_one()
    return int(used), int(held)


def note_use(uow: UnitOfWork, bucket_id: int, line_id: int, unit: str, amount: int) -> None:
    """Count ``amount`` units of shared bucket ``bucket_id`` as used by ``line_id``."""
    if amount <= 0:
        return
    uow.conn.execute(upsert(
        uow, group_member_use,
        {"bucket_id": bucket_id, "line_id": line_id, "unit": unit, "used": amount},
        ["bucket_id", "line_id", "unit"], {"used": group_member_use.c.used + amount}))


def shared_left(uow: UnitOfWork, line_id: int) -> bool:
    """Whether the line's group has units left that the line may still draw (its cap
    allowing): a session it left short may be granted again."""
    stay = membership.membership(uow, line_id)
    if stay is None:
        return False
    room = None
    if stay.cap_bytes is not None:
        room = stay.cap_bytes - sum(member_use(uow, stay.group_id, line_id))
    return any(left["remaining"] > 0 and (unit != CAPPED or room is None or room > 0)
               for b in group_buckets(uow, stay.group_id) for unit, left in b.units.items())


@dataclass(frozen=True)
class MemberView:
    """A line's part of the pool: data it used and holds now of the group's running plans,
    its cap, and whether it is still in the group."""

    line_id: int
    cap_bytes: int | None
    used: int
    held: int
    member: bool


@dataclass(frozen=True)
class Pool:
    """The group's running plans and what each line drew from them (data, in bytes)."""

    buckets: list[BucketView]
    total: int
    remaining: int
    members: list[MemberView]


def pool(uow: UnitOfWork, group_id: int) -> Pool:
    """The pool as its members see it: the running shared buckets with what is left, each
    line in the group with its use and cap, and lines that left but used some of it."""
    views = group_buckets(uow, group_id)
    data = [b.units[CAPPED] for b in views if CAPPED in b.units]
    now: list[Member] = membership.members(uow, group_id)
    former = uow.conn.execute(
        select(group_member_use.c.line_id).distinct()
        .join(buckets, buckets.c.id == group_member_use.c.bucket_id)
        .where(_running(uow, group_id), group_member_use.c.unit == CAPPED,
               group_member_use.c.line_id.not_in([m.line_id for m in now]))
        .order_by(group_member_use.c.line_id)).scalars().all()
    seats = [(m.line_id, m.cap_bytes, True) for m in now] + [
        (int(line_id), None, False) for line_id in former]
    members = [MemberView(line_id, cap, *member_use(uow, group_id, line_id), member)
               for line_id, cap, member in seats]
    return Pool(views, sum(d["total"] for d in data), sum(d["remaining"] for d in data),
                members)


__all__ = ["MemberView", "Pool", "Share", "member_use", "note_use", "pool", "share_of",
           "shared_left"]
