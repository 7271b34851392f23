"""Request dependencies: the database, the caller, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from starlette.concurrency import run_in_threadpool

from topup.db.uow import Database
from topup.errors import Forbidden, Unauthenticated
from topup.subscribers import auth, staff
from topup.subscribers.auth import User

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def database(request: Request) -> Database:
    """The app's Database."""
    db: Database = request.app.state.db
    return db


def _user_for_token(db: Database, token: str) -> User:
    with db.unit(readonly=True) as uow:
        return auth.user_for_token(uow, token)


async def current_user(token: str | None = Depends(oauth2), db: Database = Depends(database)
                       ) -> User:
    """The caller behind the bearer token; 401 without a live one. A token checked within
    ``TOPUP_AUTH_CACHE_SECONDS`` is answered from memory, on the event loop."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token>")
    cached = auth.cached_user(token, db.clock())
    if cached is not None:
        return cached
    return await run_in_threadpool(_user_for_token, db, token)


async def optional_user(token: str | None = Depends(oauth2), db: Database = Depends(database)
                        ) -> User | None:
    """The caller behind a bearer token when one is sent (401 for a dead one), else None:
    for routes a guest may use too."""
    return await current_user(token, db) if token else None


def role(*allowed: str) -> Callable[[User], Awaitable[User]]:
    """A dependency that admits only users with one of ``allowed`` roles."""

    async def check(user: User = Depends(current_user)) -> User:
        if user.role not in allowed:
            raise Forbidden(f"this needs the role {' or '.join(allowed)}")
        return user

    return check


def allowed(action: str) -> Callable[[User], Awaitable[User]]:
    """A dependency that admits staff whose role may do ``action`` (subscribers.staff)."""
    return role(*sorted(staff.roles_for(action)))


def client_ip(request: Request) -> str | None:
    """The peer address (behind a proxy, configure uvicorn's --forwarded-allow-ips)."""
    return request.client.host if request.client else None
