"""A load generator that is not the bottleneck: raw HTTP/1.1 keep-alive over asyncio.

One connection per request in flight, each sending hand-built request bytes and reading the
answer with a minimal parser (status line, headers, a ``Content-Length`` body). A shared
``httpx.AsyncClient`` spends about 1.8 ms of CPU per request; this spends a few tens of
microseconds, so the server is what the numbers measure. With ``procs`` > 1 the connections
are split over forked processes and their results merged.

Failures never hang the run: every request has a deadline (a timeout counts as an error and
closes its connection), a closed or garbled connection is an error and is reopened, 4xx/5xx
answers are counted by status. A request whose outcome is unknown (timeout, connection lost
after sending) is remembered by its sequence number, so the caller can resend it under the same
idempotency key and learn what happened.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import multiprocessing
import signal
import socket
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Protocol

MAX_HEAD = 65536


class ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.1 response this parser reads."""


class ConnectionClosed(Exception):
    """The server closed the connection before the whole answer came."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def parse(buf: bytearray) -> tuple[Response, int] | None:
    """One complete response at the start of ``buf`` and the bytes it used, or None if more
    bytes are needed. Bodies must carry Content-Length (or be empty by status)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > MAX_HEAD:
            raise ProtocolError("response head over 64 KiB")
        return None
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise ProtocolError(f"bad status line {lines[0][:60]!r}")
    status = int(parts[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is None:
        if status in (204, 304) or 100 <= status < 200:
            return Response(status, headers, b""), end + 4
        raise ProtocolError(f"{status} without Content-Length")
    if not length.isdigit():
        raise ProtocolError(f"bad Content-Length {length[:20]!r}")
    total = end + 4 + int(length)
    if len(buf) < total:
        return None
    return Response(status, headers, bytes(buf[end + 4:total])), total


class _Conn(asyncio.Protocol):
    """One keep-alive connection: at most one request outstanding."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        try:
            found = parse(self.buf)
        except ProtocolError as exc:
            waiter.set_exception(exc)
            return
        if found is not None:
            del self.buf[:found[1]]
            waiter.set_result(found[0])

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionClosed("closed by the server"))

    def send(self, data: bytes, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Response]:
        assert self.transport is not None
        self.waiter = loop.create_future()
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        if self.transport is not None:
            self.transport.abort()
        self.closed = True


class Workload(Protocol):
    """What to send as request number ``n`` and how to judge its answer."""

    def request(self, n: int) -> bytes:
        """The complete request bytes (unique per ``n`` where the workload needs it)."""

    def judge(self, n: int, resp: Response) -> tuple[str, int]:
        """(``"ok"`` or an error label, value moved by this answer)."""

    def settle(self, resp: Response) -> int | None:
        """The value moved, judged from the answer to a resent request whose first answer was
        lost; None if this answer does not tell."""


@dataclass(frozen=True)
class Plan:
    """Absolute ``time.monotonic()`` instants (system-wide, so forked processes share them)."""

    measure_from: float
    end: float
    timeout: float


@dataclass
class Outcome:
    """What the client saw. ``ok``/``moved`` cover warm-up and the drain too, for the books;
    ``measured``/``latencies`` only answers completed inside the measured window."""

    ok: int = 0
    moved: int = 0
    measured: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    unknown: list[int] = field(default_factory=list)
    good: list[int] = field(default_factory=list)
    cpu_s: float = 0.0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.measured / self.seconds if self.seconds else 0.0

    def merge(self, other: Outcome) -> None:
        self.ok += other.ok
        self.moved += other.moved
        self.measured += other.measured
        self.latencies += other.latencies
        self.errors.update(other.errors)
        self.unknown += other.unknown
        self.good += other.good[:max(0, 512 - len(self.good))]
        self.cpu_s += other.cpu_s


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


class _Client:
    """The connections of one process, sharing its sequence numbers and its Outcome."""

    def __init__(self, host: str, port: int, work: Workload, plan: Plan,
                 seq: Iterator[int]) -> None:
        self.host, self.port, self.work, self.plan, self.seq = host, port, work, plan, seq
        self.out = Outcome()
        self.loop = asyncio.get_running_loop()

    async def connect(self) -> _Conn | None:
        try:
            async with asyncio.timeout(self.plan.timeout):
                _, conn = await self.loop.create_connection(_Conn, self.host, self.port)
            return conn
        except (OSError, TimeoutError) as exc:
            self.out.errors[f"connect {type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)  # a refusing server must not turn this into a busy loop
            return None

    async def one(self, conn: _Conn, n: int) -> bool:
        """Send request ``n`` and judge its answer; False if the connection is done for."""
        start = time.monotonic()
        waiter = conn.send(self.work.request(n), self.loop)
        timer = self.loop.call_at(self.loop.time() + self.plan.timeout, _expire, waiter)
        try:
            resp = await waiter
        except (TimeoutError, ConnectionClosed, ProtocolError) as exc:
            self.out.errors[type(exc).__name__] += 1
            self.out.unknown.append(n)
            return False
        finally:
            timer.cancel()
        done = time.monotonic()
        label, moved = self.work.judge(n, resp)
        if label != "ok":
            self.out.errors[label] += 1
        else:
            self.out.ok += 1
            self.out.moved += moved
            if len(self.out.good) < 512:
                self.out.good.append(n)
            if self.plan.measure_from <= done <= self.plan.end:
                self.out.measured += 1
                self.out.latencies.append(done - start)
        return resp.headers.get("connection", "").lower() != "close"

    async def connection(self) -> None:
        conn: _Conn | None = None
        try:
            while time.monotonic() < self.plan.end:
                if conn is None or conn.closed:
                    conn = await self.connect()
                    continue
                if not await self.one(conn, next(self.seq)):
                    conn.close()
                    conn = None
        finally:
            if conn is not None:
                conn.close()


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no answer in time"))


async def _drive(host: str, port: int, work: Workload, plan: Plan, conns: int,
                 seq: Iterator[int]) -> Outcome:
    client = _Client(host, port, work, plan, seq)
    cpu = time.process_time()
    await asyncio.gather(*(client.connection() for _ in range(conns)))
    client.out.cpu_s = time.process_time() - cpu
    return client.out


def _default_signals() -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def _child(send: Connection, host: str, port: int, work: Workload, plan: Plan, conns: int,
           seq: Iterator[int]) -> None:
    _default_signals()  # the parent handles Ctrl-C and stops us
    send.send(asyncio.run(_drive(host, port, work, plan, conns, seq)))
    send.close()


@contextmanager
def _children() -> Iterator[list[multiprocessing.process.BaseProcess]]:
    procs: list[multiprocessing.process.BaseProcess] = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.is_alive():
                p.kill()
            p.join(5)


def run(host: str, port: int | Sequence[int], work: Workload, concurrency: int, warmup: float,
        seconds: float, procs: int = 1, timeout: float = 10.0) -> Outcome:
    """Keep ``concurrency`` requests of ``work`` in flight for ``warmup`` + ``seconds``; the
    requests still in flight then finish (each bounded by ``timeout``). Several ``port``s
    (API nodes) get a load process each at least, the connections spread evenly over them."""
    ports = [port] if isinstance(port, int) else list(port)
    procs = max(1, min(max(procs, len(ports)), concurrency))
    # the calling process has the app's modules loaded; collections during the load need not
    # walk that heap again and again, so park what exists now where the collector never looks
    gc.freeze()
    now = time.monotonic()
    plan = Plan(now + warmup, now + warmup + seconds, timeout)
    if procs == 1:
        out = asyncio.run(_drive(host, ports[0], work, plan, concurrency, itertools.count()))
    else:
        out = _forked(host, ports, work, plan, concurrency, procs)
    out.seconds = seconds
    return out


def _forked(host: str, ports: list[int], work: Workload, plan: Plan, concurrency: int,
            procs: int) -> Outcome:
    """Split the connections over ``procs`` forked processes (sequence numbers interleaved,
    so they stay unique; process ``i`` talks to ``ports[i % len(ports)]``) and merge what
    they saw."""
    ctx = multiprocessing.get_context("fork")
    out, pipes = Outcome(), []
    with _children() as children:
        for i in range(procs):
            recv, send = ctx.Pipe(duplex=False)
            conns = concurrency // procs + (1 if i < concurrency % procs else 0)
            port = ports[i % len(ports)]
            p = ctx.Process(target=_child, args=(send, host, port, work, plan, conns,
                                                 itertools.count(i, procs)), daemon=True)
            p.start()
            send.close()
            children.append(p)
            pipes.append(recv)
        limit = plan.end + plan.timeout + 30
        for recv, child in zip(pipes, children, strict=True):
            if not recv.poll(max(0.0, limit - time.monotonic())):
                raise RuntimeError(f"load process {child.pid} gave no result in time")
            out.merge(recv.recv())
    return out


def resend(host: str, port: int, data: bytes, timeout: float = 10.0) -> Response:
    """Send one request on a fresh blocking connection (after the load) and read its answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(data)
        buf = bytearray()
        while (found := parse(buf)) is None:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionClosed("closed by the server")
            buf += chunk
        return found[0]


# --- a trivial server, to measure the client alone --------------------------------------------

class _Trivial(asyncio.Protocol):
    """Answers every request head with the same small 200, keep-alive."""

    ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
              b"Content-Length: 15\r\n\r\n{\"status\":\"ok\"}")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        heads = self.buf.count(b"\r\n\r\n")  # the client sends GETs: no bodies
        if heads:
            self.buf = self.buf[self.buf.rfind(b"\r\n\r\n") + 4:]
            self.transport.write(self.ANSWER * heads)


def _serve_trivial(port: int, ready: Connection, lifetime: float) -> None:
    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Trivial, "127.0.0.1", port)
        ready.send(True)
        async with server:
            await asyncio.sleep(lifetime)
    _default_signals()
    asyncio.run(main())


@contextmanager
def trivial_server(port: int, lifetime: float) -> Iterator[int]:
    """A trivial HTTP server in a forked process on the loopback for at most ``lifetime``
    seconds; yields its pid (for its CPU time)."""
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_serve_trivial, args=(port, send, lifetime), daemon=True)
    proc.start()
    try:
        if not recv.poll(10):
            raise RuntimeError("the trivial server did not start")
        recv.recv()
        assert proc.pid is not None
        yield proc.pid
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
