"""Language (for everyone, from the header's switch; saved on the account when signed in) and
notification settings: e-mail and SMS on or off, quiet hours, time zone."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from topup.channels.portal import sessions
from topup.channels.portal.i18n import LANG_COOKIE, LANGS
from topup.channels.portal.web import Form, PortalRoute, Web, posted, safe_next, signed_in, web
from topup.errors import TopupError
from topup.notifications import preferences as prefs
from topup.subscribers import auth

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
YEAR = 365 * 24 * 3600


def _settings_page(w: Web, form: Form | None = None, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        found = prefs.get_preferences(uow, w.me().id)
    if form is None:
        form = Form({"timezone": found.timezone, "quiet_hours": found.quiet_hours or ""}
                    | ({"email": "on"} if found.email else {})
                    | ({"sms": "on"} if found.sms else {}))
    return w.page("settings.html", status=status, form=form, langs=LANGS)


@router.get("/settings")
def settings_page(w: Web = Depends(signed_in)) -> Response:
    """The language and notification settings."""
    return _settings_page(w)


def _switch(w: Web, language: str, target: str) -> Response:
    if language not in LANGS:
        language = "en"
    if w.user is not None:
        user_id = w.user.id
        w.db.transact(lambda uow: auth.update_profile(uow, user_id, language=language),
                      what="language")
    response = w.redirect(target)
    response.set_cookie(LANG_COOKIE, language, max_age=YEAR, path="/", httponly=True,
                        samesite="lax", secure=sessions.is_secure(w.db, w.request))
    return response


@router.post("/language")
def switch_language(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """The header's switch: the language for this browser, and the account's if signed in."""
    return _switch(w, form.get("language"), safe_next(form.get("next")))


@router.post("/settings/language")
def save_language(form: Form = Depends(posted), w: Web = Depends(signed_in)) -> Response:
    """The language of the pages, e-mails and text messages."""
    return _switch(w, form.get("language"), "/settings?notice=language")


@router.post("/settings/notifications")
def save_notifications(form: Form = Depends(posted), w: Web = Depends(signed_in)) -> Response:
    """E-mail and SMS switches, quiet hours (``22:00-07:00``, empty for none), time zone."""
    quiet = form.get("quiet_hours") or None
    try:
        w.db.transact(lambda uow: prefs.set_preferences(
            uow, w.me().id, email=form.checked("email"), sms=form.checked("sms"),
            quiet_hours=quiet, timezone=form.get("timezone") or "UTC"), what="preferences")
    except TopupError as exc:
        form.refuse(w.t, exc, "quiet_hours")
        return _settings_page(w, form, 422)
    return w.redirect("/settings", notice="preferences")
