"""One place that turns errors into RFC 9457 problem+json with stable codes.

``type`` is ``urn:topup:problem:<code>``; ``code`` repeats it for clients that prefer a plain
member; ``title`` follows Accept-Language (en, zh-CN); extra members carry details such as the
field at fault or the seconds to wait.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from topup.channels.api.messages import generic_detail, language_of, title_for
from topup.errors import TopupError

log = logging.getLogger("topup.api")
PROBLEM = "application/problem+json"


RESERVED = frozenset({"type", "title", "status", "code", "instance", "detail"})


def problem(request: Request, status: int, code: str, title: str, detail: str | None = None,
            extra: dict[str, Any] | None = None) -> JSONResponse:
    """A problem+json response in the caller's language; ``extra`` adds members (never
    overriding the standard ones)."""
    extra = {k: v for k, v in (extra or {}).items() if k not in RESERVED}
    body = {
        "type": f"urn:topup:problem:{code}", "title": title_for(code, language_of(request), title),
        "status": status, "code": code, "instance": request.url.path,
    }
    if detail:
        body["detail"] = detail
    body.update(jsonable_encoder(extra))
    headers = {"Retry-After": str(extra["retry_after"])} if "retry_after" in extra else None
    if status == 401:
        headers = (headers or {}) | {"WWW-Authenticate": "Bearer"}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(TopupError)
    async def _topup(request: Request, exc: TopupError) -> JSONResponse:
        detail = generic_detail(exc.code, language_of(request))
        if detail is not None:
            log.warning("%s on %s %s: %s", exc.code, request.method, request.url.path,
                        exc.detail)
            return problem(request, exc.status, exc.code, exc.title, detail)
        return problem(request, exc.status, exc.code, exc.title, exc.detail, exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem(request, 422, "validation_failed", "Invalid request",
                       "the request body or parameters are not valid", {"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(request, exc.status_code, code, str(exc.detail), None)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "internal_error", "Internal error",
                       "something went wrong on our side; nothing was charged twice")
