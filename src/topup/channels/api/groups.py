"""/groups: a traveller's groups of lines that share the plans bought for them — create one,
add and remove lines, set a line's cap, read the pool and each line's use. Only the group's
owner sees or changes it (anyone else gets 404). A plan is bought for a group through
``POST /orders`` with ``group_id``, like any plan."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import database, role
from topup.channels.api.messages import language_of
from topup.channels.api.schemas import CapIn, GroupIn, GroupOut, MemberIn
from topup.channels.api.views import group_out
from topup.db.uow import Database, UnitOfWork
from topup.subscribers import groups
from topup.subscribers.auth import User

router = APIRouter(prefix="/groups", tags=["groups"])
customer = role("customer")  # groups are a traveller's: staff act on lines, not on groups


@router.post("", status_code=201, response_model=GroupOut)
def create(body: GroupIn, request: Request, user: User = Depends(customer),
           db: Database = Depends(database)) -> GroupOut:
    """A new, empty group of the caller's lines."""
    def work(uow: UnitOfWork) -> GroupOut:
        return group_out(uow, groups.create_group(uow, user.id, body.name),
                         language_of(request))

    return db.transact(work, what="group")


@router.get("", response_model=list[GroupOut])
def mine(request: Request, user: User = Depends(customer), db: Database = Depends(database)
         ) -> list[GroupOut]:
    """The caller's groups, each with its pool and its lines' use."""
    with db.unit(readonly=True) as uow:
        return [group_out(uow, g, language_of(request)) for g in groups.groups_of(uow, user.id)]


@router.get("/{group_id}", response_model=GroupOut)
def detail(group_id: DbId, request: Request, user: User = Depends(customer),
           db: Database = Depends(database)) -> GroupOut:
    """The pool (the group's running plans, data left) and each line's use and cap."""
    with db.unit(readonly=True) as uow:
        return group_out(uow, groups.get_group(uow, group_id, owner=user.id),
                         language_of(request))


@router.post("/{group_id}/members", status_code=201, response_model=GroupOut)
def add(group_id: DbId, body: MemberIn, request: Request, user: User = Depends(customer),
        db: Database = Depends(database)) -> GroupOut:
    """Put one of the caller's lines in the group (a line is in one group at a time), with
    an optional cap of the group's data it may draw."""
    def work(uow: UnitOfWork) -> GroupOut:
        group = groups.get_group(uow, group_id, owner=user.id)
        groups.add_member(uow, group, body.line_id, body.cap_bytes)
        return group_out(uow, group, language_of(request))

    return db.transact(work, what="group members")


@router.patch("/{group_id}/members/{line_id}", response_model=GroupOut)
def set_cap(group_id: DbId, line_id: DbId, body: CapIn, request: Request,
            user: User = Depends(customer), db: Database = Depends(database)) -> GroupOut:
    """Set or clear (null) a line's cap."""
    def work(uow: UnitOfWork) -> GroupOut:
        group = groups.get_group(uow, group_id, owner=user.id)
        groups.set_cap(uow, group, line_id, body.cap_bytes)
        return group_out(uow, group, language_of(request))

    return db.transact(work, what="group cap")


@router.delete("/{group_id}/members/{line_id}", response_model=GroupOut)
def remove(group_id: DbId, line_id: DbId, request: Request, user: User = Depends(customer),
           db: Database = Depends(database)) -> GroupOut:
    """Take a line out of the group: it stops drawing on the group's plans; what it used
    stays on the books (and in the pool's figures while those plans run)."""
    def work(uow: UnitOfWork) -> GroupOut:
        group = groups.get_group(uow, group_id, owner=user.id)
        groups.remove_member(uow, group, line_id)
        return group_out(uow, group, language_of(request))

    return db.transact(work, what="group members")
