"""Request dependencies: the database, the caller, and role checks."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from topup.db.uow import Database
from topup.errors import Forbidden, Unauthenticated
from topup.subscribers import auth, staff
from topup.subscribers.auth import User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def database(request: Request) -> Database:
    """The app's Database."""
    db: Database = request.app.state.db
    return db


def current_user(token: str | None = Depends(oauth2), db: Database = Depends(database)) -> User:
    """The caller behind the bearer token; 401 without a live one."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token>")
    with db.unit(readonly=True) as uow:
        return auth.user_for_token(uow, token)


def role(*allowed: str) -> Callable[[User], User]:
    """A dependency that admits only users with one of ``allowed`` roles."""

    def check(user: User = Depends(current_user)) -> User:
        if user.role not in allowed:
            raise Forbidden(f"this needs the role {' or '.join(allowed)}")
        return user

    return check


def allowed(action: str) -> Callable[[User], User]:
    """A dependency that admits staff whose role may do ``action`` (subscribers.staff)."""
    return role(*sorted(staff.roles_for(action)))


def client_ip(request: Request) -> str | None:
    """The peer address (behind a proxy, configure uvicorn's --forwarded-allow-ips)."""
    return request.client.host if request.client else None
