"""The home page (my lines), binding a line, a line's dashboard, its auto-renew switch, the
eSIM activation QR code, and the pages that first ask which line. (The dashboard's auto
top-up form posts to ``autotopup.py``.)"""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter, Depends, Response

from topup.catalog import service as catalog
from topup.channels.api.bounds import DbId
from topup.channels.api.deps import client_ip
from topup.channels.portal.i18n import N_
from topup.channels.portal.labels import RENEWAL_REASONS
from topup.channels.portal.views import (
    AutoTopupPanel,
    auto_topup_panel,
    line_view,
    owned_line,
    usage_bars,
)
from topup.channels.portal.web import Form, PortalRoute, Web, posted, signed_in, web
from topup.charging.outlook import line_outlook
from topup.errors import NotFound, TopupError
from topup.money import Money
from topup.orders import renewals
from topup.promotions import points, referrals
from topup.subscribers import lifecycle
from topup.subscribers import lines as line_svc
from topup.subscribers.staff import STAFF_ROLES

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
HOMES = {**dict.fromkeys(STAFF_ROLES, "/admin"), "agent": "/pos"}

PICKS = {  # /<what> asks which line, then goes to /lines/<id>/<what>
    "topup": N_("Top up which line?"),
    "voucher": N_("Redeem a voucher onto which line?"),
    "history": N_("Show the history of which line?"),
}


@router.get("/")
def home(w: Web = Depends(web)) -> Response:
    """Signed out: the login page. Signed in: every line with its balance and data left (staff
    go to the console, agents to their point of sale)."""
    if w.user is None:
        return w.redirect("/login")
    if w.user.role in HOMES:
        return w.redirect(HOMES[w.user.role])
    with w.db.unit(readonly=True) as uow:
        views = [line_view(uow, x, w.t.lang) for x in line_svc.lines_of(uow, w.user.id)]
        mine = points.standing(uow, w.user.id)
        invite = referrals.invite_code(uow, w.user.id)
    return w.page("home.html", views=views, points=mine, invite=invite,
                  referral_points=w.db.settings.referral_points)


@router.get("/lines/bind")
def bind_page(w: Web = Depends(signed_in)) -> Response:
    """Bind a SIM or eSIM with its ICCID or number and the card secret."""
    return w.page("bind.html", form=Form({}))


@router.post("/lines/bind")
def bind(form: Form = Depends(posted), w: Web = Depends(signed_in)) -> Response:
    """A wrong pair is refused without saying which half was wrong (and counted)."""
    user = w.me()
    for name in ("identifier", "secret"):
        if not form.get(name):
            form.fail(name, w.t.gettext("Please fill in this field."))
    line = None
    if form.ok:
        try:
            address = client_ip(w.request)
            line = w.db.transact(lambda uow: line_svc.bind(
                uow, user.id, form.get("identifier"), form.get("secret"), address),
                what="bind")
            if line is None:
                raise line_svc.bind_refused()
        except TopupError as exc:
            form.refuse(w.t, exc)
    if line is None:
        return w.page("bind.html", status=422, form=form)
    return w.redirect(f"/lines/{line.id}", notice="bound")


@router.get("/lines/{line_id}")
def dashboard(line_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """Balance, data gauge and forecast, plans and their countdowns, status (with how to
    restore a line in grace or suspended), auto-renew, auto top-up, 30-day chart."""
    return dashboard_page(w, line_id)


def dashboard_page(w: Web, line_id: int, *, status: int = 200, auto_form: Form | None = None
                   ) -> Response:
    """The line's page; ``auto_form``: the auto top-up form as posted, with its errors."""
    usable = set(w.request.app.state.saved_methods) & set(w.request.app.state.payment_providers)
    with w.db.unit(readonly=True) as uow:
        view = line_view(uow, owned_line(uow, w.me(), line_id), w.t.lang)
        chart = usage_bars(uow, view.line, w.now, w.tz)
        auto = auto_topup_panel(uow, view.line, w.me(), usable)
        outlook = line_outlook(uow, view.line, "portal")
        failed = renewals.trouble(uow, line_id)
        renewal = (catalog.get_plan(uow, failed.plan_id).name(w.t.lang), failed) if failed \
            else None
        settings = w.db.settings
        step = lifecycle.next_step(uow, line_id, grace_days=settings.grace_days,
                                   suspended_days=settings.suspended_days)
    peak = max((b.value for b in chart), default=0)
    return w.page("line.html", status=status, view=view, line=view.line, chart=chart,
                  peak=peak, auto=auto, auto_form=auto_form or _auto_form(auto),
                  outlook=outlook, next_step=step, renewal=renewal,
                  renewal_reasons=RENEWAL_REASONS)


def _auto_form(auto: AutoTopupPanel) -> Form:
    """The auto top-up form filled with the line's rule (amounts as typed: major units)."""
    rule = auto.rule
    if rule is None:
        return Form({"method": str(auto.cards[0][0]) if auto.cards else "",
                     "max_per_day": str(auto.most_per_day)})
    cur = rule.currency
    daily = rule.max_amount_per_day
    return Form({"threshold": Money(rule.threshold, cur).text(),
                 "amount": Money(rule.amount, cur).text(), "method": str(rule.method_id),
                 "max_per_day": str(rule.max_per_day),
                 "max_amount_per_day": Money(daily, cur).text() if daily else ""})


@router.post("/lines/{line_id}/auto-renew")
def auto_renew(line_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
               ) -> Response:
    """Switch auto-renew on (box ticked) or off."""
    on = form.get("auto_renew") in ("on", "1", "true")
    w.db.transact(lambda uow: line_svc.set_auto_renew(
        uow, owned_line(uow, w.me(), line_id).id, on), what="auto-renew switch")
    return w.redirect(f"/lines/{line_id}", notice="auto_renew_on" if on else "auto_renew_off")


@router.get("/lines/{line_id}/esim.svg")
def esim_qr(line_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """The eSIM's activation code as a QR code to scan with the phone's camera."""
    with w.db.unit(readonly=True) as uow:
        code = owned_line(uow, w.me(), line_id).activation_code
    if code is None:
        raise NotFound("this line has no eSIM activation code")
    out = io.BytesIO()
    segno.make(code, error="m", micro=False).save(out, kind="svg", scale=6, border=4,
                                                  title=w.t.gettext("eSIM activation code"))
    return Response(out.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "private, no-store"})


def _pick(what: str, w: Web) -> Response:
    with w.db.unit(readonly=True) as uow:
        mine = line_svc.lines_of(uow, w.me().id)
    if not mine:
        return w.redirect("/lines/bind", notice="bind_first")
    if len(mine) == 1:
        return w.redirect(f"/lines/{mine[0].id}/{what}")
    return w.page("pick.html", lines=mine, what=what, question=w.t.gettext(PICKS[what]))


@router.get("/topup")
def pick_topup(w: Web = Depends(signed_in)) -> Response:
    """Top up: straight to the only line, else a choice."""
    return _pick("topup", w)


@router.get("/voucher")
def pick_voucher(w: Web = Depends(signed_in)) -> Response:
    """Redeem a voucher: straight to the only line, else a choice."""
    return _pick("voucher", w)


@router.get("/history")
def pick_history(w: Web = Depends(signed_in)) -> Response:
    """History: straight to the only line, else a choice."""
    return _pick("history", w)
