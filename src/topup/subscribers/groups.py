"""Groups of lines that share their plans: who is in which group, and each member's data cap.

A traveller groups lines they hold (a phone, a tablet, a companion's phone in their account);
a plan bought for the group is one pool every line in it draws on, each line up to its cap
if it has one (the drawing is charging's: ``charging/groups.py``). Only lines of the group's
owner join it, and a line is in at most one group at a time (a partial unique index).
Leaving ends the line's stay (``left_at``) and keeps the row: what it used while it was in
stays on the books, and a later return is a new stay.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update

from topup.db.uow import UnitOfWork
from topup.subscribers.errors import (
    GroupNotFound,
    InvalidGroup,
    LineInGroup,
    LineNotInGroup,
    LineNotUsable,
)
from topup.subscribers.lines import get_line
from topup.subscribers.tables import line_group_members as members_table
from topup.subscribers.tables import line_groups, lines

MAX_NAME = 60
MAX_CAP = 2**62  # bytes; far beyond any plan, and still an integer both databases store


@dataclass(frozen=True)
class Group:
    """A customer's named group of lines."""

    id: int
    owner_id: int
    name: str
    created_at: datetime


@dataclass(frozen=True)
class Member:
    """One stay of a line in a group; ``cap_bytes`` None: no cap; ``left_at`` None: in now."""

    group_id: int
    line_id: int
    cap_bytes: int | None
    joined_at: datetime
    left_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Member:
        return cls(int(row.group_id), int(row.line_id),
                   None if row.cap_bytes is None else int(row.cap_bytes), row.joined_at,
                   row.left_at)


def _group(row: Any) -> Group:
    return Group(int(row.id), int(row.owner_id), str(row.name), row.created_at)


def _name(name: str) -> str:
    clean = " ".join((name or "").split())
    if not clean or len(clean) > MAX_NAME:
        raise InvalidGroup(f"a group's name has 1 to {MAX_NAME} characters", field="name")
    return clean


def _cap(cap_bytes: int | None) -> int | None:
    if cap_bytes is None:
        return None
    if isinstance(cap_bytes, bool) or not isinstance(cap_bytes, int) \
            or not 0 <= cap_bytes <= MAX_CAP:
        raise InvalidGroup(f"a cap is 0 to {MAX_CAP} bytes, or none", field="cap_bytes")
    return cap_bytes


def create_group(uow: UnitOfWork, owner_id: int, name: str) -> Group:
    """A new, empty group of ``owner_id``'s lines."""
    new_id = uow.conn.execute(insert(line_groups).values(
        owner_id=owner_id, name=_name(name), created_at=uow.now,
    ).returning(line_groups.c.id)).scalar_one()
    return get_group(uow, int(new_id))


def get_group(uow: UnitOfWork, group_id: int, *, owner: int | None = None) -> Group:
    """The group; with ``owner``, only if that customer owns it (else GroupNotFound)."""
    query = select(line_groups).where(line_groups.c.id == group_id)
    if owner is not None:
        query = query.where(line_groups.c.owner_id == owner)
    row = uow.conn.execute(query).first()
    if row is None:
        raise GroupNotFound()
    return _group(row)


def groups_of(uow: UnitOfWork, owner_id: int) -> list[Group]:
    """A customer's groups, oldest first."""
    rows = uow.conn.execute(select(line_groups).where(line_groups.c.owner_id == owner_id)
                            .order_by(line_groups.c.id))
    return [_group(r) for r in rows]


def members(uow: UnitOfWork, group_id: int) -> list[Member]:
    """The lines in the group now, in the order they joined."""
    rows = uow.conn.execute(select(members_table).where(
        members_table.c.group_id == group_id, members_table.c.left_at.is_(None))
        .order_by(members_table.c.id))
    return [Member.of(r) for r in rows]


def membership(uow: UnitOfWork, line_id: int, *, lock: bool = False) -> Member | None:
    """The line's stay in a group now, or None; ``lock`` holds its row (PostgreSQL) so that
    two draws of the same member weigh its cap one after the other."""
    query = select(members_table).where(members_table.c.line_id == line_id,
                                        members_table.c.left_at.is_(None))
    if lock and uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    return None if row is None else Member.of(row)


def any_in_a_group(uow: UnitOfWork, line_ids: Iterable[int]) -> bool:
    """Whether any of the lines is in a group now (one look at the live-member index)."""
    ids = sorted(set(line_ids))
    if not ids:
        return False
    return uow.conn.execute(select(members_table.c.line_id).where(
        members_table.c.line_id.in_(ids), members_table.c.left_at.is_(None)).limit(1)
    ).first() is not None


def add_member(uow: UnitOfWork, group: Group, line_id: int, cap_bytes: int | None = None
               ) -> Member:
    """Put the owner's line in ``group`` (LineNotFound for another's line, LineInGroup when it
    is in a group already, LineNotUsable when it is terminated)."""
    cap = _cap(cap_bytes)
    locked = select(lines.c.id).where(lines.c.id == line_id)
    if uow.dialect == "postgresql":  # one add of a line at a time: the index stays a backstop
        uow.conn.execute(locked.with_for_update())
    line = get_line(uow, line_id, owner=group.owner_id)
    if line.status == "terminated":
        raise LineNotUsable("a terminated line cannot join a group", line_status=line.status)
    if membership(uow, line.id) is not None:
        raise LineInGroup()
    uow.conn.execute(insert(members_table).values(
        group_id=group.id, line_id=line.id, cap_bytes=cap, joined_at=uow.now))
    return _live(uow, group, line.id)


def _live(uow: UnitOfWork, group: Group, line_id: int, *, lock: bool = False) -> Member:
    found = membership(uow, line_id, lock=lock)
    if found is None or found.group_id != group.id:
        raise LineNotInGroup()
    return found


def set_cap(uow: UnitOfWork, group: Group, line_id: int, cap_bytes: int | None) -> Member:
    """Give a member a cap of data it may draw from the group's plans (None: no cap); a cap
    below what it used already stops its drawing there."""
    cap = _cap(cap_bytes)
    _live(uow, group, line_id, lock=True)
    uow.conn.execute(update(members_table).where(
        members_table.c.group_id == group.id, members_table.c.line_id == line_id,
        members_table.c.left_at.is_(None)).values(cap_bytes=cap))
    return _live(uow, group, line_id)


def remove_member(uow: UnitOfWork, group: Group, line_id: int) -> Member:
    """Take a line out of ``group``: it stops drawing on the group's plans; what it used stays
    on the books (its usage records, the transfers, its counted use)."""
    stay = _live(uow, group, line_id, lock=True)
    uow.conn.execute(update(members_table).where(
        members_table.c.group_id == group.id, members_table.c.line_id == line_id,
        members_table.c.left_at.is_(None)).values(left_at=uow.now))
    return Member(stay.group_id, stay.line_id, stay.cap_bytes, stay.joined_at, uow.now)


def ensure_member(uow: UnitOfWork, group_id: int, line_id: int) -> None:
    """Refuse a purchase for ``group_id`` through a line that is not in it now."""
    get_group(uow, group_id)
    found = membership(uow, line_id)
    if found is None or found.group_id != group_id:
        raise LineNotInGroup("a plan for a group is bought through a line in it",
                             field="group_id")
