"""/healthz and /metrics (Prometheus)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from topup.channels.api.deps import database
from topup.db.uow import Database

router = APIRouter(tags=["system"])

REQUESTS = Counter("topup_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("topup_http_request_seconds", "HTTP request latency", ["method", "route"])


@router.get("/healthz")
def healthz(db: Database = Depends(database)) -> dict[str, str]:
    """Liveness and database reachability."""
    with db.unit(readonly=True) as uow:
        uow.conn.execute(text("SELECT 1"))
    return {"status": "ok", "database": uow.dialect}


@router.get("/metrics", response_class=PlainTextResponse)
def metrics() -> Response:
    """Prometheus text exposition."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                  ) -> Response:
    """Middleware: count and time each request by its route template (not its raw path)."""
    start = time.perf_counter()
    response = await call_next(request)
    route = getattr(request.scope.get("route"), "path", "unmatched")
    LATENCY.labels(request.method, route).observe(time.perf_counter() - start)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    return response
