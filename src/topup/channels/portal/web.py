"""What every portal page shares: the request's session, language and time zone, CSRF-checked
forms, HTML error pages, redirects, and the security headers.

Routers of the portal use ``PortalRoute``: a refused service call (any ``TopupError``) becomes
an HTML page in the visitor's language instead of problem+json, and a page that needs a login
sends the visitor to ``/login?next=…``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute

from topup.channels.portal import csrf, labels, sessions
from topup.channels.portal.i18n import LANG_COOKIE, Translator, negotiate, normalise, translator
from topup.channels.portal.messages import blocked, error_text
from topup.channels.portal.places import Places
from topup.channels.portal.rendering import menu_for, render, zone_of
from topup.channels.portal.sessions import WebSession
from topup.db.uow import Database
from topup.errors import Forbidden, InvalidInput, NotFound, TopupError
from topup.notifications.preferences import get_preferences
from topup.subscribers import staff
from topup.subscribers.auth import User

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """Raised by pages that need a signed-in visitor."""


class CsrfRefused(Exception):
    """Raised when a POST lacks this browser's form token or comes from another origin."""


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go to after a form (never another site: no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


@dataclass
class Web:
    """One request as the portal sees it."""

    request: Request
    db: Database
    session: WebSession | None
    t: Translator
    tz: tzinfo
    now: datetime

    @property
    def user(self) -> User | None:
        return self.session.user if self.session else None

    def me(self) -> User:
        """The signed-in user (pages behind ``signed_in`` always have one)."""
        if self.session is None:
            raise LoginRequired()
        return self.session.user

    def context(self, **extra: Any) -> dict[str, Any]:
        """What every template may use (``extra`` adds the page's own values)."""
        role = self.user.role if self.user else None
        url = self.request.url
        notice = labels.NOTICES.get(self.request.query_params.get("notice", ""))
        return {"t": self.t, "tz": self.tz, "now": self.now, "user": self.user,
                "lang": self.t.lang, "operator": self.db.settings.operator_name,
                "theme_color": self.db.settings.theme_color,
                "cashback_days": self.db.settings.cashback_after_days,
                "menu": menu_for(role), "path": url.path,
                "here": url.path + (f"?{url.query}" if url.query else ""),
                "csrf_token": csrf.token(self.db, self.request),
                "notice": self.t.gettext(notice) if notice else None,
                "line_states": labels.LINE_STATES, "order_states": labels.ORDER_STATES,
                "plan_kinds": labels.PLAN_KINDS, "kinds": labels.KINDS,
                "blocked": lambda status: blocked(self.t, status),
                "places": Places(self.db, self.t.lang),
                "may": lambda action: staff.may(role, action), **extra}

    def page(self, template: str, status: int = 200, **extra: Any) -> HTMLResponse:
        """Render ``template`` with the shared context plus ``extra``."""
        response = HTMLResponse(render(template, self.context(**extra)), status_code=status,
                                headers=HEADERS)
        csrf.remember(self.request, response, sessions.is_secure(self.db, self.request))
        return response

    def redirect(self, url: str, **params: str) -> RedirectResponse:
        """See other (303): after a POST, or to move on."""
        if params:
            url += ("&" if "?" in url else "?") + urlencode(params)
        return RedirectResponse(url, status_code=303)


def language_of(request: Request, session: WebSession | None) -> str:
    """The user's language, else the visitor's cookie, else Accept-Language."""
    if session is not None:
        return session.user.language
    chosen = normalise(request.cookies.get(LANG_COOKIE))
    return chosen or negotiate(request.headers.get("accept-language"))


def _timezone(db: Database, session: WebSession | None) -> tzinfo:
    if session is None:
        return zone_of(None)
    with db.unit(readonly=True) as uow:
        return zone_of(get_preferences(uow, session.user.id).timezone)


def web(request: Request) -> Web:
    """The portal's view of the request (a dependency of every page)."""
    db: Database = request.app.state.db
    session = sessions.from_request(db, request)
    found = Web(request, db, session, translator(language_of(request, session)),
                _timezone(db, session), db.clock())
    request.state.web = found
    return found


def signed_in(w: Web = Depends(web)) -> Web:
    """Pages that need a login use this instead of ``web``."""
    w.me()
    return w


def requires(*roles: str) -> Callable[[Web], Web]:
    """A dependency for role-gated sections (the admin console under /admin, the agent POS
    under /pos): signed-out visitors go to the login page, other roles get a 403 page."""

    def check(w: Web = Depends(signed_in)) -> Web:
        if w.me().role not in roles:
            raise Forbidden(f"this page needs the role {' or '.join(roles)}")
        return w

    return check


def allowed(action: str) -> Callable[[Web], Web]:
    """A dependency for staff pages: signed-out visitors go to the login page, staff whose
    role may not do ``action`` (``subscribers.staff``) and everyone else get a 403 page."""

    def check(w: Web = Depends(signed_in)) -> Web:
        staff.ensure(w.me().role, action)
        return w

    return check


@dataclass
class Form:
    """A posted form: values by name, and the errors found, by field (``""`` for the form)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()

    def raw(self, name: str) -> str:
        """The value exactly as typed (passwords)."""
        return self.values.get(name, "")

    def checked(self, name: str) -> bool:
        return name in self.values

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def refuse(self, t: Translator, exc: TopupError, default_field: str = "",
               text: str | None = None) -> None:
        """Show a service's refusal (``text``, else its usual sentence) next to the field it
        names, else next to ``default_field`` (``""``: on the form)."""
        found = exc.extra.get("field")
        target = found if isinstance(found, str) and found in self.values else default_field
        self.fail(target, text if text is not None else error_text(t, exc))

    def key(self, name: str, fresh: bool = False) -> str:
        """The form's idempotency key in the hidden field ``name``: made when the form is
        first rendered and sent back with it, so one rendered form acts once however often it
        is submitted (``fresh``: a new key, for a new try)."""
        if fresh or not self.values.get(name):
            self.values[name] = secrets.token_urlsafe(18)
        return self.values[name]

    @property
    def ok(self) -> bool:
        return not self.errors


async def posted(request: Request, w: Web = Depends(web)) -> Form:
    """The request's form, once its CSRF token and Origin are checked."""
    data = await request.form()
    values = {k: v for k, v in data.items() if isinstance(v, str)}
    if not csrf.valid(w.db, request, values.get(csrf.FIELD)):
        raise CsrfRefused()
    return Form(values)


def _fallback(request: Request) -> Web:
    found = getattr(request.state, "web", None)
    if isinstance(found, Web):
        return found
    return web(request)


def _error_page(request: Request, status: int, message: str, template: str = "error.html"
                ) -> Response:
    return _fallback(request).page(template, status=status, message=message, status_code=status)


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expired = "1" if request.cookies.get(sessions.COOKIE) else ""
    url = f"/login?next={quote(target, safe='/')}" + ("&expired=1" if expired else "")
    return RedirectResponse(url, status_code=303)


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PortalRoute(APIRoute):
    """A route whose refusals render as portal pages."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired:
                return _login_redirect(request)
            except CsrfRefused:
                if request.cookies.get(sessions.COOKIE) and not _fallback(request).session:
                    return _login_redirect(request)
                w = _fallback(request)
                return _error_page(request, 403, w.t.gettext(
                    "This form has expired or did not come from this site. Please go back, "
                    "reload the page and try again."))
            except TopupError as exc:
                return _error_page(request, exc.status, error_text(_fallback(request).t, exc))
            except RequestValidationError as exc:
                # An address no page has (an id out of range, a word for a number) is a
                # missing page to a browser; anything else sent wrong is invalid input.
                bad = (NotFound() if all(e.get("loc", ("",))[0] == "path" for e in exc.errors())
                       else InvalidInput())
                return _error_page(request, bad.status, error_text(_fallback(request).t, bad))

        return handler
