"""Request limits at the door, before any route reads a byte (a pure ASGI middleware).

- Body size: ``Content-Length`` is checked first; a body without one (chunked) is counted
  while it streams in, and reading stops at the limit -> 413 ``request_too_large``. Bank
  statement uploads get their own, larger limit.
- JSON shape: nesting deeper than the setting or a container with too many members ->
  400 ``request_too_complex``.
- Text: a NUL character (no database column holds one) or a lone UTF-16 surrogate (no
  encoder writes one) anywhere in a JSON body, a form body, the path or the query ->
  400 ``invalid_characters``.

- Head size: the request line and headers together past ``max_header_bytes`` -> 431
  ``headers_too_large``. ``topup serve`` also gives the same number to uvicorn
  (``h11_max_incomplete_event_size``), which stops reading a head that arrives in pieces
  past it, so memory is bounded before the app is reached.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topup.channels.api.problems import problem
from topup.config import Settings

# Routes that take a bank statement file as their body (API and console).
UPLOAD_PATHS = frozenset({"/api/v1/admin/bank/statements", "/admin/bank/statements"})
MAX_MEMBERS = 10_000  # members of one JSON array or object; no request of ours needs more
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_NUL_ESCAPE = re.compile(rb"%00|\x00")


class TooLarge(Exception):
    """Raised inside the middleware when a body passes its limit."""


class RequestLimits:
    """Refuse oversized, over-deep and NUL-carrying requests with problem+json."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body = settings.max_body_bytes
        self.max_upload = settings.max_upload_bytes
        self.max_depth = settings.max_json_depth
        self.max_head = settings.max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if scope["path"] in UPLOAD_PATHS else self.max_body
        headers = Headers(scope=scope)
        refusal = _head_refusal(scope, headers, limit, self.max_head)
        body = b""
        if refusal is None:
            try:
                body = await _read_body(receive, limit)
            except TooLarge:
                refusal = (413, "request_too_large", "Request too large",
                           f"the request body is larger than {limit} bytes")
        if refusal is None:
            refusal = _body_refusal(headers.get("content-type", ""), body, self.max_depth)
        if refusal is not None:
            status, code, title, detail = refusal
            await problem(Request(scope), status, code, title, detail)(scope, receive, send)
            return
        await self.app(scope, replay_body(body, receive), send)


Refusal = tuple[int, str, str, str]


def _head_refusal(scope: Scope, headers: Headers, limit: int, max_head: int) -> Refusal | None:
    """What the request line and headers alone show to be unacceptable."""
    head = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) + sum(
        len(name) + len(value) + 4 for name, value in scope["headers"])
    if head > max_head:
        return (431, "headers_too_large", "Request headers too large",
                f"the request line and headers are larger than {max_head} bytes")
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return (400, "invalid_request", "Invalid request", "Content-Length is not a number")
        if int(declared) > limit:
            return (413, "request_too_large", "Request too large",
                    f"the request body is larger than {limit} bytes")
    if _BAD_TEXT.search(scope["path"]) or _NUL_ESCAPE.search(scope.get("query_string", b"")):
        return _bad_text("the address")
    return None


async def whole_body(receive: Receive) -> bytes:
    """The body of a request that passed this middleware (already bounded)."""
    return await _read_body(receive, sys.maxsize)


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, counted as it arrives; ``TooLarge`` as soon as it passes ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then the real channel (so a
    disconnect is still seen)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _body_refusal(content_type: str, body: bytes, max_depth: int) -> Refusal | None:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/x-www-form-urlencoded":
        return _bad_text("the form") if _NUL_ESCAPE.search(body) else None
    if not body or (media and not (media == "application/json" or media.endswith("+json"))):
        return None
    try:
        document = json.loads(body)
    except RecursionError:
        return _too_complex(f"JSON may nest at most {max_depth} levels")
    except ValueError:
        return None  # not JSON: the route's own parser says so, in its words
    return _shape_refusal(document, max_depth)


def _shape_refusal(document: Any, max_depth: int) -> Refusal | None:
    """Walk the parsed document once (no recursion: depth is what is being checked)."""
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if _BAD_TEXT.search(value):
                return _bad_text("the JSON body")
            continue
        if not isinstance(value, dict | list):
            continue
        if depth > max_depth:
            return _too_complex(f"JSON may nest at most {max_depth} levels")
        if len(value) > MAX_MEMBERS:
            return _too_complex(f"a JSON array or object may hold at most {MAX_MEMBERS} members")
        members = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        stack.extend((member, depth + 1) for member in members)
    return None


def _too_complex(detail: str) -> Refusal:
    return (400, "request_too_complex", "Request too complex", detail)


def _bad_text(where: str) -> Refusal:
    return (400, "invalid_characters", "Invalid characters",
            f"{where} holds a NUL character or a lone surrogate, which no text may contain")
