"""Signed-in browsers: a random token in the ``topup_session`` cookie, its SHA-256 in the
database, an idle timeout and an absolute lifetime.

The token is a ``web`` token of ``subscribers.auth``, so everything that ends a login there
(logout, a password reset, a disabled account, the token's own expiry) ends the web session
too. It is not an API bearer token: a copied cookie gets no further than the session's own
idle and absolute limits. ``last_seen_at`` is written at most once a minute, so reading pages
does not queue behind the database's writers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import insert, select, update

from topup.channels.portal.tables import web_sessions
from topup.db.uow import Database, UnitOfWork
from topup.errors import Unauthenticated
from topup.subscribers import auth
from topup.subscribers.auth import User

COOKIE = "topup_session"
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class WebSession:
    """One signed-in browser."""

    id: int
    user: User
    token_hash: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start(uow: UnitOfWork, user: User) -> str:
    """Sign ``user`` in: a new token (the cookie's value), valid until the absolute lifetime."""
    token = auth.issue_token(uow, user, kind="web")
    uow.conn.execute(insert(web_sessions).values(
        token_hash=token_hash(token), user_id=user.id, created_at=uow.now,
        last_seen_at=uow.now,
        expires_at=uow.now + timedelta(seconds=uow.settings.web_session_max_seconds)))
    return token


def resume(uow: UnitOfWork, token: str) -> WebSession | None:
    """The live session of ``token``, or None when it is unknown, ended, idle too long or
    past its lifetime (or its login was revoked)."""
    row = uow.conn.execute(select(web_sessions).where(
        web_sessions.c.token_hash == token_hash(token))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= uow.now:
        return None
    idle = timedelta(seconds=uow.settings.web_session_idle_seconds)
    if row.last_seen_at + idle <= uow.now:
        return None
    try:
        user = auth.user_for_token(uow, token, kind="web")
    except Unauthenticated:
        return None
    return WebSession(int(row.id), user, row.token_hash, row.created_at, row.last_seen_at,
                      row.expires_at)


def touch(uow: UnitOfWork, session: WebSession) -> None:
    """Record activity, which pushes the idle timeout back."""
    uow.conn.execute(update(web_sessions).where(web_sessions.c.id == session.id)
                     .values(last_seen_at=uow.now))


def end(uow: UnitOfWork, token: str) -> None:
    """Log out: the session and its bearer token stop working at once."""
    uow.conn.execute(update(web_sessions).where(
        web_sessions.c.token_hash == token_hash(token), web_sessions.c.revoked_at.is_(None),
    ).values(revoked_at=uow.now))
    auth.revoke_token(uow, token)


def end_all(uow: UnitOfWork, user_id: int) -> None:
    """End every session of a user (after a password reset)."""
    uow.conn.execute(update(web_sessions).where(
        web_sessions.c.user_id == user_id, web_sessions.c.revoked_at.is_(None),
    ).values(revoked_at=uow.now))


def from_request(db: Database, request: Request) -> WebSession | None:
    """The session of the request's cookie (looked up once per request)."""
    if hasattr(request.state, "web_session"):
        found: WebSession | None = request.state.web_session
        return found
    token = request.cookies.get(COOKIE)
    session = None
    if token:
        with db.unit(readonly=True) as uow:
            session = resume(uow, token)
            stale = session is not None and session.last_seen_at + TOUCH_EVERY <= uow.now
        if session is not None and stale:
            db.transact(lambda uow: touch(uow, session), what="web session touch")
    request.state.web_session = session
    return session


def is_secure(db: Database, request: Request) -> bool:
    """Cookies are Secure when this request arrived over https (behind a proxy, only as the
    trusted proxies say: ``topup serve --trusted-proxies``), or the public URL is https."""
    return (request.url.scheme == "https"
            or db.settings.public_url.lower().startswith("https://"))


def set_cookie(response: Response, db: Database, request: Request, token: str) -> None:
    """Hand the browser its session token: HttpOnly, SameSite=Lax, Secure over https."""
    response.set_cookie(COOKIE, token, max_age=db.settings.web_session_max_seconds, path="/",
                        httponly=True, samesite="lax", secure=is_secure(db, request))


def clear_cookie(response: Response, db: Database, request: Request) -> None:
    """Make the browser forget its session token."""
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=is_secure(db, request))
