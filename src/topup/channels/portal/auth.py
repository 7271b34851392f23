"""Register, log in, log out, and forgotten passwords (a one-time code by SMS or e-mail)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response

from topup.channels.api.deps import client_ip
from topup.channels.portal import sessions
from topup.channels.portal.i18n import N_
from topup.channels.portal.rendering import WEB_ROLES
from topup.channels.portal.web import Form, PortalRoute, Web, posted, safe_next, web
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.promotions import referrals
from topup.subscribers import auth
from topup.subscribers import reset as reset_svc
from topup.subscribers.auth import MIN_PASSWORD

router = APIRouter(route_class=PortalRoute, include_in_schema=False)

REQUIRED = N_("Please fill in this field.")


def _signed_in_response(w: Web, user: auth.User, target: str) -> Response:
    token = w.db.transact(lambda uow: sessions.start(uow, user), what="web session")
    response = w.redirect(target)
    sessions.set_cookie(response, w.db, w.request, token)
    return response


@router.get("/login")
def login_page(next: str = "/", w: Web = Depends(web)) -> Response:
    """The login form (signed-in visitors go straight on)."""
    if w.user:
        return w.redirect(safe_next(next))
    return w.page("login.html", form=Form({"next": safe_next(next)}),
                  expired=w.request.query_params.get("expired") == "1")


@router.post("/login")
def login(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """Check the password; on success start a web session and go on to ``next``."""
    login_name, password = form.get("login"), form.raw("password")
    for name, value in (("login", login_name), ("password", password)):
        if not value:
            form.fail(name, w.t.gettext(REQUIRED))
    user = None
    if form.ok:
        try:
            address = client_ip(w.request)
            user = w.db.transact(lambda uow: auth.authenticate(uow, login_name, password,
                                                               address), what="sign-in")
        except TopupError as exc:  # locked: the failure count is already committed
            form.refuse(w.t, exc)
        if user is None and form.ok:
            form.fail("", w.t.gettext("Wrong login or password."))
    if user is not None and user.role not in WEB_ROLES:  # network and terminal logins
        form.fail("", w.t.gettext("This login is for the API only and cannot sign in here."))
        user = None
    if user is None:
        return w.page("login.html", status=422, form=form)
    return _signed_in_response(w, user, safe_next(form.get("next")))


@router.post("/logout")
def logout(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """End the session and forget the cookie."""
    token = w.request.cookies.get(sessions.COOKIE)
    if token:
        w.db.transact(lambda uow: sessions.end(uow, token), what="sign-out")
    response = w.redirect("/login", notice="logged_out")
    sessions.clear_cookie(response, w.db, w.request)
    return response


@router.get("/register")
def register_page(w: Web = Depends(web)) -> Response:
    """The registration form."""
    if w.user:
        return w.redirect("/")
    return w.page("register.html", form=Form({}))


def _check_registration(w: Web, form: Form) -> None:
    if not form.get("email") and not form.get("phone"):
        form.fail("email", w.t.gettext("Give an e-mail address or a phone number."))
    password = form.raw("password")
    if len(password) < MIN_PASSWORD:
        form.fail("password", w.t.gettext("A password has at least %(n)s characters.",
                                          n=MIN_PASSWORD))
    if password != form.raw("password_confirm"):
        form.fail("password_confirm", w.t.gettext("The two passwords do not match."))


@router.post("/register")
def register(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """Create the account in the page's language and sign in; next: bind a line."""
    _check_registration(w, form)
    user = None
    if form.ok:
        try:
            address = client_ip(w.request)
            wait = w.db.transact(lambda uow: auth.admit_registration(uow, address),
                                 what="register")
            if wait:
                raise auth.registration_refused(wait)

            def work(uow: UnitOfWork) -> auth.User:
                user = auth.register(uow, email=form.get("email") or None,
                                     phone=form.get("phone") or None,
                                     password=form.raw("password"), language=w.t.lang)
                if form.get("invite"):  # a bad code refuses the registration
                    referrals.join(uow, user.id, form.get("invite"))
                return user

            user = w.db.transact(work, what="register")
        except TopupError as exc:  # a taken login is one form-wide refusal, never per field
            target = {"invalid_msisdn": "phone", "invalid_input": "email",
                      "validation_failed": "email", "invalid_invite": "invite"}.get(exc.code, "")
            user = None
            form.refuse(w.t, exc, target)
    if user is None:
        return w.page("register.html", status=422, form=form)
    return _signed_in_response(w, user, "/lines/bind?notice=registered")


@router.get("/password/forgot")
def forgot_page(w: Web = Depends(web)) -> Response:
    """Ask for a reset code."""
    return w.page("forgot.html", form=Form({}))


@router.post("/password/forgot")
def forgot(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """Send a code to the login's phone or e-mail (the answer is the same for unknown logins)."""
    if not form.get("login"):
        form.fail("login", w.t.gettext(REQUIRED))
        return w.page("forgot.html", status=422, form=form)
    address = client_ip(w.request)  # the code goes out from the outbox, after COMMIT
    w.db.transact(lambda uow: reset_svc.request_reset(uow, form.get("login"), address),
                  what="password reset")
    return w.redirect("/password/reset", login=form.get("login"), notice="code_sent")


@router.get("/password/reset")
def reset_page(login: str = "", w: Web = Depends(web)) -> Response:
    """Enter the code and a new password."""
    return w.page("reset.html", form=Form({"login": login}))


@router.post("/password/reset")
def reset(form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """Set the new password; every session and token of the account ends."""
    for name in ("login", "code"):
        if not form.get(name):
            form.fail(name, w.t.gettext(REQUIRED))
    if len(form.raw("new_password")) < MIN_PASSWORD:
        form.fail("new_password", w.t.gettext("A password has at least %(n)s characters.",
                                              n=MIN_PASSWORD))
    if form.ok:
        try:
            address = client_ip(w.request)

            def work(uow: UnitOfWork) -> bool:
                done = reset_svc.confirm_reset(uow, form.get("login"), form.get("code"),
                                               form.raw("new_password"), address)
                row = auth.find_by_login(uow, form.get("login")) if done else None
                if row is not None:
                    sessions.end_all(uow, int(row.id))
                return done

            done = w.db.transact(work, what="password reset")
            if not done:
                raise reset_svc.reset_refused()
        except TopupError as exc:  # wrong code or backing off: the failure is committed
            form.refuse(w.t, exc, "code")
    if not form.ok:
        return w.page("reset.html", status=422, form=form)
    return w.redirect("/login", notice="password_reset")
