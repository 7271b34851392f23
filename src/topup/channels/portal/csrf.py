"""Cross-site request forgery: every form carries a token bound to the browser, and every
POST is checked against it (and against the Origin header when the browser sends one).

Signed in, the token is an HMAC of the session; before that (log in, register, language), it
is an HMAC of a random ``topup_csrf`` cookie, so a login form cannot be posted from elsewhere
either. Tokens are derived, not stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from topup.db.uow import Database

FIELD = "csrf_token"
ANON_COOKIE = "topup_csrf"


def _basis(request: Request, create: bool) -> str | None:
    session = getattr(request.state, "web_session", None)
    if session is not None:
        return f"session:{session.token_hash}"
    anon = request.cookies.get(ANON_COOKIE) or getattr(request.state, "new_anon_csrf", None)
    if anon is None and create:
        anon = secrets.token_urlsafe(24)
        request.state.new_anon_csrf = anon
    return f"anon:{anon}" if anon else None


def _sign(db: Database, basis: str) -> str:
    mac = hmac.new(db.settings.secret_key.encode(), f"csrf:{basis}".encode(), hashlib.sha256)
    return mac.hexdigest()


def token(db: Database, request: Request) -> str:
    """The token to put in this browser's forms (creating its anonymous cookie if needed)."""
    basis = _basis(request, create=True)
    assert basis is not None
    return _sign(db, basis)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_ok(db: Database, request: Request) -> bool:
    """No Origin header, or one naming this site (its public URL or the host asked)."""
    sent = request.headers.get("origin")
    if not sent:
        return True
    if sent == "null":
        return False
    own = {_origin(db.settings.public_url), _origin(str(request.base_url))}
    return _origin(sent) in own


def valid(db: Database, request: Request, sent: str | None) -> bool:
    """Whether a POST's token belongs to this browser and its Origin is ours."""
    basis = _basis(request, create=False)
    if not sent or basis is None or not origin_ok(db, request):
        return False
    return hmac.compare_digest(sent, _sign(db, basis))


def remember(request: Request, response: Response, secure: bool) -> None:
    """Set the anonymous cookie if this request created one."""
    anon = getattr(request.state, "new_anon_csrf", None)
    if anon and not request.cookies.get(ANON_COOKIE):
        response.set_cookie(ANON_COOKIE, anon, path="/", httponly=True, samesite="lax",
                            secure=secure)
