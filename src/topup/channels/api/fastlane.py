"""A lean way in for the busiest value-moving routes, beside FastAPI's.

FastAPI spends most of a top-up's HTTP time on its own machinery: matching the path against
every route, solving dependencies, validating, encoding. For a route in ``LANES``, this pure
ASGI middleware does the same steps directly when the request is in order: the path is
``LANES``' pattern (with an id in range, when it has one), the body is JSON the route's own
model accepts, the bearer token was checked lately (subscribers/token_cache.py) and its role
may use the route. It then calls the route's own handler (the same function the FastAPI route
calls) and sends the same response. Anything else — an unknown token, a body the model
refuses, a wrong content type — goes on to FastAPI untouched (the body read here is handed
on), so every refusal is worded by the one place that words them. It sits inside the request
limits, the metrics and the last-resort error guard, like every route.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from topup.channels.api import admin, usage
from topup.channels.api.bounds import DB_INT_MAX
from topup.channels.api.limits import replay_body, whole_body
from topup.channels.api.orders import respond
from topup.channels.api.problems import problem_for
from topup.channels.api.schemas import ManualCreditIn, UsageIn
from topup.db.uow import Database
from topup.orders.idempotency import Outcome
from topup.subscribers import auth, staff
from topup.subscribers.auth import User

# (database, caller, the path's id — None for a path without one —, the parsed body, the
# Idempotency-Key or None)
Handler = Callable[[Database, User, Any, Any, str | None], Awaitable[Outcome]]


@dataclass(frozen=True)
class Lane:
    """One route taken the lean way: ``POST`` on ``pattern`` (one id or none), a JSON body of
    ``model``, callers of ``roles``, answered by ``handler``."""

    pattern: re.Pattern[str]
    path: str  # the route's template, as the metrics name it
    model: type[BaseModel]
    roles: frozenset[str]
    handler: Handler


LANES = (
    Lane(re.compile(r"/api/v1/admin/lines/([1-9][0-9]{0,18})/credit"),
         "/api/v1/admin/lines/{line_id}/credit", ManualCreditIn,
         frozenset(staff.roles_for("lines.credit")), admin.credit_line),
    Lane(re.compile(r"/api/v1/usage"), "/api/v1/usage", UsageIn, frozenset(usage.ROLES),
         usage.lane),
)


class FastLane:
    """Pure ASGI middleware taking ``LANES`` requests that are in order; see the module."""

    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        for lane in LANES:
            found = lane.pattern.fullmatch(scope["path"])
            item = int(found[1]) if found and lane.pattern.groups else None
            if found and (item is None or item <= DB_INT_MAX):
                await self._take(lane, item, scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _take(self, lane: Lane, item: int | None, scope: Scope, receive: Receive, send: Send
                    ) -> None:
        head = _headers(scope)
        user = self._caller(head.get(b"authorization", b""), lane.roles)
        media = head.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if user is None or media != b"application/json":
            await self.app(scope, receive, send)
            return
        body = await whole_body(receive)
        try:
            asked = lane.model.model_validate(json.loads(body))
        except (ValueError, ValidationError):  # FastAPI words the refusal
            await self.app(scope, replay_body(body, receive), send)
            return
        key = head.get(b"idempotency-key")
        scope["route"] = lane  # named in the metrics by its ``path``, as a route would be
        try:
            outcome = await lane.handler(self.db, user, item,
                                         asked, key.decode("latin-1") if key else None)
        except Exception as exc:
            answer = problem_for(Request(scope), exc)
            if answer is None:
                raise  # the error guard outside answers 500
            await answer(scope, receive, send)
            return
        await respond(outcome)(scope, receive, send)

    def _caller(self, authorization: bytes, roles: frozenset[str]) -> User | None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        user = auth.cached_user(token, self.db.clock())
        return user if user is not None and user.role in roles else None



def _headers(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by lower-case name; the first of repeated ones, as Starlette."""
    out: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        out.setdefault(name, value)
    return out
