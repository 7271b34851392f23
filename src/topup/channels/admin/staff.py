"""Staff logins and the audit log in the console (admins only): create a support, finance
or admin login, disable or enable one with a reason; read every staff action, newest first,
filtered by what it was done to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from topup.audit.service import entries
from topup.audit.service import record as audit
from topup.channels.admin.pages import page, reason_of
from topup.channels.api.bounds import DbId
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.subscribers import auth
from topup.subscribers.auth import MIN_PASSWORD
from topup.subscribers.staff import STAFF_ROLES

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _staff_page(w: Web, form: Form, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        logins = auth.logins_with_roles(uow, STAFF_ROLES)
    return page(w, "admin/staff.html", "staff", status=status, form=form, logins=logins,
                staff_roles=STAFF_ROLES)


@router.get("/admin/staff")
def staff_page(w: Web = Depends(allowed("staff.manage"))) -> Response:
    """Every staff login, and the form for a new one."""
    return _staff_page(w, Form({"role": "support"}))


@router.post("/admin/staff")
def create(form: Form = Depends(posted), w: Web = Depends(allowed("staff.manage"))) -> Response:
    """Create a staff login with the password the new colleague will change."""
    role = form.get("role")
    if role not in STAFF_ROLES:
        form.fail("role", w.t.gettext("Choose a role."))
    if "@" not in form.get("email"):
        form.fail("email", w.t.gettext("Enter an e-mail address."))
    if len(form.raw("password")) < MIN_PASSWORD:
        form.fail("password", w.t.gettext("A password has at least %(n)s characters.",
                                          n=MIN_PASSWORD))
    if form.ok:
        try:
            def work(uow: UnitOfWork) -> None:
                made = auth.register(uow, email=form.get("email"), phone=None,
                                     password=form.raw("password"), role=role,
                                     language=w.t.lang)
                audit(uow, w.me().id, "user.create", f"user:{made.id}", role=role)

            w.db.transact(work, what="staff login")
        except TopupError as exc:
            form.refuse(w.t, exc, "email")
    if not form.ok:
        return _staff_page(w, form, 422)
    return w.redirect("/admin/staff", notice="staff_created")


@router.post("/admin/staff/{user_id}/{change}")
def disable(user_id: DbId, change: str, form: Form = Depends(posted),
            w: Web = Depends(allowed("staff.manage"))) -> Response:
    """Disable a staff login (its sessions end at once) or enable it again."""
    if change not in ("disable", "enable"):
        return _staff_page(w, form, 404)
    reason = reason_of(w, form, f"reason_{user_id}")
    if form.ok:
        try:
            def work(uow: UnitOfWork) -> bool:
                if auth.get_user(uow, user_id).role not in STAFF_ROLES:
                    return False
                auth.set_disabled(uow, user_id, change == "disable", actor_id=w.me().id,
                                  reason=reason)
                return True

            if not w.db.transact(work, what=f"staff {change}"):
                form.fail("", w.t.gettext("Only staff logins are managed here."))
        except TopupError as exc:
            form.refuse(w.t, exc)
    if not form.ok:
        return _staff_page(w, form, 422)
    return w.redirect("/admin/staff", notice=f"staff_{change}d")


@router.get("/admin/audit")
def audit_log(target: str = Query("", max_length=120),
              w: Web = Depends(allowed("audit.read"))) -> Response:
    """The newest 200 staff actions, or those on one target such as ``line:7``."""
    with w.db.unit(readonly=True) as uow:
        rows = entries(uow, target.strip() or None, limit=200)
        actors = auth.login_names(uow, [r["actor_id"] for r in rows])
    return page(w, "admin/audit.html", "audit", rows=rows, actors=actors, target=target)
