"""/healthz and /metrics (Prometheus)."""

from __future__ import annotations

import hmac
import ipaddress
import time
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from topup.channels.api.deps import client_ip, database
from topup.db.uow import Database
from topup.errors import Forbidden, Unauthenticated

router = APIRouter(tags=["system"])

REQUESTS = Counter("topup_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("topup_http_request_seconds", "HTTP request latency", ["method", "route"])


HEALTH_SECONDS = 1.0  # a database check answers the probes of this long after it


@router.get("/healthz")
async def healthz(db: Database = Depends(database)) -> dict[str, str]:
    """Liveness, database reachability and where value-moving commands are written: by the
    writer process, or by a writer thread here (``thread``: configured so, or the writer
    process is unreachable and this process writes itself; ``writer_note`` says which).
    Checked at most once a second: a probe or a load balancer asking faster is answered
    from the last check."""
    checked = db.caches.get("health")
    if checked is None or time.monotonic() - checked[0] > HEALTH_SECONDS:
        await run_in_threadpool(_ping, db)
        checked = db.caches["health"] = (time.monotonic(), await _writer_state(db))
    return {"status": "ok", "database": db.engine.dialect.name, **checked[1]}


def _ping(db: Database) -> None:
    with db.unit(readonly=True) as uow:
        uow.conn.execute(text("SELECT 1"))


async def _writer_state(db: Database) -> dict[str, str]:
    try:
        found = await db.writer.report()
    except Exception as exc:  # the link broke while asking: the next command reconnects
        return {"writer": "unknown", "writer_note": f"{type(exc).__name__}: {exc}"}
    state = {"writer": str(found["writer"])}
    if found.get("note"):
        state["writer_note"] = str(found["note"])
    return state


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
async def metrics(db: Database = Depends(database)) -> Response:
    """Prometheus text exposition (scrape token or loopback only), with the writer's
    batches as the writer (process or thread) reports them at the scrape."""
    try:
        WRITER.last = await db.writer.report()
    except Exception:  # the link broke while asking: the writer's series are left out
        WRITER.last = None
    WRITER.transactions = db.retry_stats.snapshot()
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class _WriterMetrics(Collector):
    """The writer's ``WriterStats`` as Prometheus series, from its last report, and this
    process's own transactions run again (``Database.transact``, db/retry.py)."""

    def __init__(self) -> None:
        self.last: dict[str, Any] | None = None
        self.transactions: dict[str, Any] | None = None

    def collect(self) -> Iterator[Metric]:
        yield from _conflicts("topup_transaction", "Write transactions of this process",
                              self.transactions)
        st = self.last
        if not st:
            return
        yield from _conflicts("topup_writer", "The writer's batches and lone commands", {
            "retries": st.get("conflict_retries", {}), "gave_up": st.get("conflicts_given_up", 0)})
        yield CounterMetricFamily("topup_writer_batches", "Batches the writer committed",
                                  value=st["batches"])
        yield CounterMetricFamily("topup_writer_commands", "Commands in those batches",
                                  value=st["commands"])
        yield CounterMetricFamily("topup_writer_retried_batches",
                                  "Batches rolled back and applied command by command",
                                  value=st["retried"])
        yield CounterMetricFamily("topup_writer_busy_seconds",
                                  "Seconds spent applying and committing batches",
                                  value=st["seconds"])
        yield GaugeMetricFamily("topup_writer_queued", "Commands waiting for the writer",
                                value=st["queued"])
        buckets, total = [], 0
        for bound, count in sorted(st["sizes"].items()):
            total += count
            buckets.append((str(bound), total))
        buckets.append(("+Inf", st["batches"]))
        yield HistogramMetricFamily("topup_writer_batch_size", "Commands per batch",
                                    buckets=buckets, sum_value=st["commands"])
        if "pipelined" in st:  # the pipelined writer on SQLite (db/pipeline.py)
            for name, doc in _PIPELINE:
                yield CounterMetricFamily(f"topup_writer_{name}", doc, value=st[name])


_PIPELINE = (
    ("pipelined", "Batches decided while the one before was written, then written as decided"),
    ("replayed", "Decided batches dropped (another writer, a failed write) and applied plainly"),
    ("waited", "Decisions that waited for the batch in flight (a session or line in it)"),
    ("forgotten", "Times the decisions' memory was dropped after a write not decided by them"),
    ("deciding_seconds", "Seconds the pipelined writer spent deciding batches"),
    ("writing_seconds", "Seconds the pipelined writer's second stage spent writing them"),
)


def _conflicts(prefix: str, who: str, st: dict[str, Any] | None) -> Iterator[Metric]:
    """Retries after a serialization failure or a deadlock, by SQLSTATE name, and the times
    the tries ran out (answered 503)."""
    if not st:
        return
    retries = CounterMetricFamily(f"{prefix}_conflict_retries",
                                  f"{who} run again after a conflict the database broke",
                                  labels=["sqlstate"])
    for name, count in sorted(st["retries"].items()):
        retries.add_metric([name], count)
    yield retries
    yield CounterMetricFamily(f"{prefix}_conflicts_given_up",
                              f"{who} that conflicted on every try (answered 503)",
                              value=st["gave_up"])


WRITER = _WriterMetrics()
REGISTRY.register(WRITER)


class Measure:
    """Pure ASGI middleware: count and time each request by its route template (not its raw
    path), without the cost of a wrapped request and response object per call."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)
            REQUESTS.labels(scope["method"], route, str(status)).inc()
