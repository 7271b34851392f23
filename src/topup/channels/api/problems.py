"""One place that turns errors into RFC 9457 problem+json with stable codes.

``type`` is ``urn:topup:problem:<code>``; ``code`` repeats it for clients that prefer a plain
member; ``title`` follows Accept-Language (en, zh-CN), and so does ``detail`` for the refusals
a traveller meets (``details.py``); extra members carry details such as the field at fault or
the seconds to wait. A serialization failure or a deadlock that got past every retry
(``topup.db.retry``) is the 503 ``transaction_conflict`` with Retry-After, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topup.channels.api.details import detail_in
from topup.channels.api.messages import generic_detail, language_of, title_for
from topup.db.retry import TransactionConflict, is_retryable
from topup.errors import TopupError

log = logging.getLogger("topup.api")
PROBLEM = "application/problem+json"


# Lower-level errors that only input the validators could not judge brings to the edge (a
# number past a column's range, a date that leaves the calendar when moved to UTC, text the
# database cannot encode): the caller's fault, so 422 with a stable code, never a 500.
# One table, in the spirit of httpx's map_exceptions; most specific first.
TRANSLATED: tuple[tuple[type[Exception], str, str, str], ...] = (
    (OverflowError, "value_out_of_range", "Value out of range",
     "a number or date in the request is outside the range that can be stored"),
    (DataError, "value_out_of_range", "Value out of range",
     "a value in the request does not fit the field that stores it"),
    (UnicodeError, "invalid_characters", "Invalid characters",
     "the request holds text that cannot be encoded"),
)

RESERVED = frozenset({"type", "title", "status", "code", "instance", "detail"})


def problem(request: Request, status: int, code: str, title: str, detail: str | None = None,
            extra: dict[str, Any] | None = None) -> JSONResponse:
    """A problem+json response in the caller's language; ``extra`` adds members (never
    overriding the standard ones)."""
    extra = {k: v for k, v in (extra or {}).items() if k not in RESERVED}
    lang = language_of(request)
    body = {
        "type": f"urn:topup:problem:{code}", "title": title_for(code, lang, title),
        "status": status, "code": code, "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail_in(code, lang, detail, extra)
    body.update(jsonable_encoder(extra))
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    if status == 401:
        headers = (headers or {}) | {"WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def topup_problem(request: Request, exc: TopupError) -> JSONResponse:
    """The problem for a refusal of the domain (every ``TopupError``)."""
    detail = generic_detail(exc.code, language_of(request))
    if detail is not None:
        log.warning("%s on %s %s: %s", exc.code, request.method, request.url.path, exc.detail)
        return problem(request, exc.status, exc.code, exc.title, detail)
    return problem(request, exc.status, exc.code, exc.title, exc.detail, exc.extra)


def problem_for(request: Request, exc: Exception) -> JSONResponse | None:
    """The problem the app's handlers make of ``exc`` (a domain refusal or a translated
    lower-level error), for code that runs outside them (the fast lane); None otherwise."""
    if isinstance(exc, TopupError):
        return topup_problem(request, exc)
    if is_retryable(exc):
        return _conflict(request, exc)
    for error, code, title, detail in TRANSLATED:
        if isinstance(exc, error):
            log.info("%s on %s %s: %s", code, request.method, request.url.path, exc)
            return problem(request, 422, code, title, detail)
    return None


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(TopupError)
    async def _topup(request: Request, exc: TopupError) -> JSONResponse:
        return topup_problem(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(request, 422, "validation_failed", "Invalid request",
                       "the request body or parameters are not valid", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(request, exc.status_code, code, str(exc.detail), None)

    for error, code, title, detail in TRANSLATED:
        app.add_exception_handler(error, _translator(code, title, detail))
    app.add_middleware(ServerErrors)

    @app.exception_handler(Exception)
    async def _outer(request: Request, exc: Exception) -> JSONResponse:
        # Only a failure in a middleware outside ServerErrors gets here (Starlette answers
        # with this, then re-raises): still a problem, not a bare text page.
        return _internal(request)


def _conflict(request: Request, exc: Exception) -> JSONResponse:
    """A conflict the database broke that no retry covered (a read-and-write unit left as it
    was): nothing was written, so the client may simply come back."""
    log.warning("%s on %s %s: %s", TransactionConflict.code, request.method, request.url.path,
                exc)
    return topup_problem(request, TransactionConflict(
        "the database broke a conflict with another transaction; nothing was written"))


def _internal(request: Request) -> JSONResponse:
    return problem(request, 500, "internal_error", "Internal error",
                   "something went wrong on our side; nothing was charged twice")


def _translator(code: str, title: str, detail: str) -> Any:
    async def translate(request: Request, exc: Exception) -> JSONResponse:
        log.info("%s on %s %s: %s", code, request.method, request.url.path, exc)
        return problem(request, 422, code, title, detail)

    return translate


class ServerErrors:
    """The last guard (a pure ASGI middleware): an unexpected exception becomes a 500 problem
    and is NOT re-raised, so the server keeps the keep-alive connection. (Starlette's
    ServerErrorMiddleware answers and then re-raises, and uvicorn drops the connection.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # half a response is out: only closing the connection can end it
                log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
                raise
            if is_retryable(exc):
                await _conflict(Request(scope), exc)(scope, receive, send)
                return
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await _internal(Request(scope))(scope, receive, send)
