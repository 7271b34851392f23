"""Shared data: a traveller's groups of lines — make one, put lines in it and take them out,
give a line a cap, see the pool and each line's use, and buy a plan for the group (through
the plan and checkout pages, as any plan, with the group carried along)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter, Depends, Response

from topup.catalog import service as catalog
from topup.channels.api.bounds import DbId
from topup.channels.portal.charts import Gauge, gauge
from topup.channels.portal.i18n import N_
from topup.channels.portal.rendering import TRAVELLER, MenuItem, add_menu_item
from topup.channels.portal.web import Form, PortalRoute, Web, posted, requires
from topup.charging.groups import Pool, pool
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.subscribers import groups
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import GroupNotFound
from topup.subscribers.groups import Group
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
add_menu_item(MenuItem("/groups", N_("Shared data"), TRAVELLER, "groups"))
traveller = requires("customer")  # groups are a traveller's (the API's rule too)
MIB = 1024 * 1024


@dataclass(frozen=True)
class GroupPage:
    """One group as its page shows it: the pool, its lines, and the owner's other lines."""

    group: Group
    pool: Pool
    gauge: Gauge
    lines: dict[int, Line]  # every line the pool names, by id
    free: list[Line]  # the owner's lines in no group: they may join
    plans: list[object]  # plans on sale, to buy one for the group
    names: dict[int, str]  # the running plans' names, by plan id


def _page(uow: UnitOfWork, group: Group, lang: str) -> GroupPage:
    found = pool(uow, group.id)
    mine = line_svc.lines_of(uow, group.owner_id)
    named = {m.line_id for m in found.members}
    lines = {x.id: x for x in mine if x.id in named}
    for line_id in named - set(lines):  # a line no longer the owner's still shows its use
        lines[line_id] = line_svc.get_line(uow, line_id)
    free = [x for x in mine if x.status != "terminated"
            and groups.membership(uow, x.id) is None]
    plans: list[object] = list(catalog.list_plans(uow, on_sale_at=uow.now))
    names = {b.plan_id: catalog.get_plan(uow, b.plan_id).name(lang) for b in found.buckets}
    return GroupPage(group, found, gauge(found.remaining, found.total), lines, free, plans,
                     names)


def _show(w: Web, group_id: int, form: Form | None = None, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        page = _page(uow, groups.get_group(uow, group_id, owner=w.me().id), w.t.lang)
    return w.page("group.html", status=status, page=page, form=form or Form({}))


@router.get("/groups")
def my_groups(w: Web = Depends(traveller)) -> Response:
    """The traveller's groups with what is left of each pool, and a form to make one."""
    with w.db.unit(readonly=True) as uow:
        found = [(g, pool(uow, g.id)) for g in groups.groups_of(uow, w.me().id)]
    return w.page("groups.html", groups=found, form=Form({}))


@router.post("/groups")
def create(form: Form = Depends(posted), w: Web = Depends(traveller)) -> Response:
    """Make a group, then go to it to add lines."""
    try:
        group = w.db.transact(lambda uow: groups.create_group(uow, w.me().id, form.get("name")),
                              what="group")
    except TopupError as exc:
        form.refuse(w.t, exc, "name")
        with w.db.unit(readonly=True) as uow:
            found = [(g, pool(uow, g.id)) for g in groups.groups_of(uow, w.me().id)]
        return w.page("groups.html", status=exc.status, groups=found, form=form)
    return w.redirect(f"/groups/{group.id}", notice="group_created")


@router.get("/groups/{group_id}")
def group_page(group_id: DbId, w: Web = Depends(traveller)) -> Response:
    """The pool (running shared plans, data left), each line's use and cap, and the forms
    to add lines, change caps, take lines out, and buy a plan for the group."""
    return _show(w, group_id)


def _cap(w: Web, form: Form) -> int | None:
    """The cap typed in MB (empty: no cap), in bytes; None after failing the form."""
    text = form.get("cap_mb")
    if not text:
        return None
    if not text.isdigit():
        form.fail("cap_mb", w.t.gettext("Enter a whole number of MB, or leave it empty for "
                                        "no cap."))
        return None
    return int(text) * MIB


def _change(w: Web, group_id: int, form: Form, notice: str,
            act: Callable[[UnitOfWork, Group], object]) -> Response:
    """Run ``act(uow, group)`` for the owner's group; a refusal shows on the group page."""
    if form.ok:
        try:
            w.db.transact(lambda uow: act(uow, groups.get_group(uow, group_id, owner=w.me().id)),
                          what=notice)
            return w.redirect(f"/groups/{group_id}", notice=notice)
        except TopupError as exc:
            if exc.code == "group_not_found":
                raise
            form.refuse(w.t, exc)
            return _show(w, group_id, form, exc.status)
    return _show(w, group_id, form, 422)


@router.post("/groups/{group_id}/members")
def add(group_id: DbId, form: Form = Depends(posted), w: Web = Depends(traveller)
        ) -> Response:
    """Put one of the traveller's lines in the group, with an optional cap."""
    line = form.get("line_id")
    cap = _cap(w, form)
    if not line.isdigit():
        form.fail("line_id", w.t.gettext("Choose a line."))
    return _change(w, group_id, form, "group_joined",
                   lambda uow, g: groups.add_member(uow, g, int(line), cap))


@router.post("/groups/{group_id}/members/{line_id}/cap")
def set_cap(group_id: DbId, line_id: DbId, form: Form = Depends(posted),
            w: Web = Depends(traveller)) -> Response:
    """Set a line's cap in MB, or clear it (empty)."""
    cap = _cap(w, form)
    return _change(w, group_id, form, "group_cap",
                   lambda uow, g: groups.set_cap(uow, g, line_id, cap))


@router.post("/groups/{group_id}/members/{line_id}/remove")
def remove(group_id: DbId, line_id: DbId, form: Form = Depends(posted),
           w: Web = Depends(traveller)) -> Response:
    """Take a line out: it stops drawing on the group's plans; what it used stays."""
    return _change(w, group_id, form, "group_left",
                   lambda uow, g: groups.remove_member(uow, g, line_id))


@router.get("/groups/{group_id}/buy")
def buy(group_id: DbId, line: str = "", plan: str = "", w: Web = Depends(traveller)
        ) -> Response:
    """Buy a plan for the group through one of its lines: the plan's page for that line,
    with the group carried to the checkout."""
    with w.db.unit(readonly=True) as uow:
        group = groups.get_group(uow, group_id, owner=w.me().id)
        if not (line.isdigit() and plan.isdigit()):
            return w.redirect(f"/groups/{group.id}")
        groups.ensure_member(uow, group.id, int(line))
    return w.redirect(f"/lines/{int(line)}/plans/{int(plan)}", group=str(group.id))


def shared_group(uow: UnitOfWork, w: Web, group: str, line: Line) -> Group | None:
    """The traveller's group named by a page's ``group`` value (None when empty) that
    ``line`` is in now; GroupNotFound or LineNotInGroup otherwise."""
    if not group:
        return None
    if not group.isdigit() or len(group) > 18:
        raise GroupNotFound()
    found = groups.get_group(uow, int(group), owner=w.me().id)
    groups.ensure_member(uow, found.id, line.id)
    return found
