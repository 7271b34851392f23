"""/healthz and /metrics (Prometheus)."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy import text

from topup.channels.api.deps import client_ip, database
from topup.db.uow import Database
from topup.errors import Forbidden, Unauthenticated

router = APIRouter(tags=["system"])

REQUESTS = Counter("topup_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("topup_http_request_seconds", "HTTP request latency", ["method", "route"])


@router.get("/healthz")
def healthz(db: Database = Depends(database)) -> dict[str, str]:
    """Liveness and database reachability."""
    with db.unit(readonly=True) as uow:
        uow.conn.execute(text("SELECT 1"))
    return {"status": "ok", "database": uow.dialect}


def _loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def scraper(request: Request, db: Database = Depends(database)) -> None:
    """Who may read /metrics: with ``TOPUP_METRICS_TOKEN`` set, whoever sends it as a bearer
    token; without it, only callers on this machine (a scraper beside the server)."""
    expected = db.settings.metrics_token
    if expected:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode()):
            raise Unauthenticated("send Authorization: Bearer <the metrics scrape token>")
    elif not _loopback(client_ip(request)):
        raise Forbidden("metrics are served to this machine only; set TOPUP_METRICS_TOKEN "
                        "to let a remote scraper in")


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(scraper)])
def metrics() -> Response:
    """Prometheus text exposition (scrape token or loopback only)."""
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
