"""The OpenAPI document tells the truth about errors: every operation lists the problem+json
answers it can give, with one schema (``Problem``), derived in one place from what the route
is made of.

- 400 and 431 on every operation (the request limits refuse NUL characters, malformed and
  oversized heads);
- 422 on every operation with input, 413 on every operation with a body;
- 401 and 403 on every operation whose dependencies authenticate the caller;
- 404 on every operation with input (whatever it names may not exist, or not be the caller's);
- 409 on every operation that writes (most service errors are conflicts with state), 503 when
  the database writer is too busy;
- 402, 429 and 502 where a table below says the route's area can raise them.

FastAPI's own ``HTTPValidationError`` schemas are removed: the server never sends them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field

from topup.channels.api import system, terminals
from topup.channels.api.deps import current_user
from topup.channels.api.problems import PROBLEM

# Dependencies that authenticate the caller: a bearer token, a terminal's signature, or the
# metrics scraper's token (or address).
AUTHENTICATORS: frozenset[Callable[..., Any]] = frozenset(
    {current_user, terminals.signed, system.scraper})
# Operations that check a gateway's shared secret in their body instead (401/403 as well).
GATEWAY_PATHS = frozenset({"/api/v1/ussd", "/api/v1/sms/inbound",
                           "/api/v1/esim/smdp/gsma/rsp2/es2plus/handleDownloadProgressInfo"})
WRITES = frozenset({"post", "put", "patch", "delete"})

# Statuses an area's writes can answer, by path prefix: 402 (the payer's or an agent's money
# is not enough, or the provider declined), 429 (attempt limits), 502 (a payment provider
# failed). Reads answer them only where READS_TOO says so.
BY_AREA: tuple[tuple[str, frozenset[int]], ...] = (
    ("/api/v1/auth/", frozenset({401, 429})),  # a wrong password or reset code
    ("/api/v1/lines", frozenset({402, 429, 502})),
    ("/api/v1/orders", frozenset({402, 502})),
    # a purchase takes an optional bearer token (a guest sends none)
    ("/api/v1/store/", frozenset({401, 403, 402, 502})),
    ("/api/v1/payment-methods", frozenset({402, 502})),
    ("/api/v1/webhooks/", frozenset({502})),
    ("/api/v1/pos/", frozenset({402, 429})),
    ("/api/v1/terminal/", frozenset({402, 429})),
    ("/api/v1/vouchers/", frozenset({429})),
    ("/api/v1/admin/orders/", frozenset({402, 502})),
    ("/api/v1/admin/agents/", frozenset({402})),
)
READS_TOO = frozenset({"/api/v1/vouchers/"})  # the public serial check is rate limited

DESCRIPTIONS = {
    400: "The request is malformed or holds characters no text may contain",
    401: "No valid credentials",
    402: "Not enough money, or the payment was declined",
    403: "The caller may not do this",
    404: "Not found (or not the caller's to see)",
    409: "The request conflicts with the current state",
    413: "The request body is too large",
    422: "The input is not valid",
    429: "Too many attempts; see Retry-After",
    431: "The request line and headers are too large",
    502: "A payment provider failed",
    503: "The database is busy; try again",
}


class Problem(BaseModel):
    """An RFC 9457 problem; ``code`` is stable, extra members carry details."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(..., description="urn:topup:problem:<code>")
    title: str = Field(..., description="Short summary in the caller's language")
    status: int = Field(..., description="The HTTP status")
    code: str = Field(..., description="Stable machine-readable code")
    instance: str = Field(..., description="The path of the request")
    detail: str | None = Field(None, description="What went wrong, for people")


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with every operation's problems listed."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        describe_problems(document, app)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def describe_problems(document: dict[str, Any], app: FastAPI) -> None:
    """Rewrite ``document`` in place (see the module docstring)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    # iter_route_contexts sees the routes of included routers as FastAPI's own generator does.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = document["paths"].get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _describe(operation, route, method.lower())


def _describe(operation: dict[str, Any], route: RouteContext, method: str) -> None:
    responses = operation.setdefault("responses", {})
    _replays_share_the_body(responses)
    for status in sorted(statuses_of(operation, route, method)):
        responses[str(status)] = {
            "description": DESCRIPTIONS[status],
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }


def _replays_share_the_body(responses: dict[str, Any]) -> None:
    """A success declared without content (``200: replay of an earlier request``) answers the
    same body as the operation's main success: say so, with its content type and schema."""
    bodies = [r["content"] for s, r in responses.items() if s.startswith("2") and "content" in r]
    for status, answer in responses.items():
        if bodies and status.startswith("2") and status != "204" and "content" not in answer:
            answer["content"] = bodies[0]


def statuses_of(operation: dict[str, Any], route: RouteContext, method: str) -> set[int]:
    """The problem statuses the operation can answer."""
    params = operation.get("parameters", [])
    has_body = "requestBody" in operation
    found = {400, 431}
    if params or has_body:
        found |= {404, 422}
    if has_body:
        found.add(413)
    path = str(route.path_format)
    if path in GATEWAY_PATHS or _authenticates(route.dependant):
        found |= {401, 403}
    if method in WRITES:
        found |= {409, 503}
    for prefix, extra in BY_AREA:
        if path.startswith(prefix) and (method in WRITES or prefix in READS_TOO):
            found |= extra
    return found


def _authenticates(dependant: Dependant) -> bool:
    return any(d.call in AUTHENTICATORS for d in _walk(dependant))


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _walk(sub)
