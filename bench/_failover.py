"""A load client that fails over between API nodes, for the kill phase of bench/scale.py.

Each connection prefers one node. A request whose answer does not come (the connection drops,
the node refuses connections, the answer times out) or comes as a 5xx is sent again — the same
bytes, so the same Idempotency-Key — to the next node, until some node answers it or the phase's
grace time is over; only then is it left *unknown*. Every 201 is remembered with the order id it
named, the node that gave it, and whether it was a replay, so the caller can check afterwards
that each top-up a client was told succeeded is in the ledger exactly once and nothing else is.

Runs in the calling process on asyncio streams (the kill phase measures correctness and
continuity, not the client's ceiling); every wait is bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from _loadgen import ConnectionClosed, ProtocolError, Response, Workload, parse


@dataclass(frozen=True)
class Told:
    """A 201 a client got: the order it named, which node answered, after how many sends."""

    order_id: int
    node: int
    replayed: bool
    sends: int
    at: float


@dataclass
class Failover:
    """What the clients saw in the kill phase."""

    told: dict[int, Told] = field(default_factory=dict)  # request number -> its 201
    unknown: list[int] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)  # final non-201 answers
    resent: Counter[str] = field(default_factory=Counter)  # why requests were sent again
    started: float = 0.0
    ended: float = 0.0


class _Node:
    """One keep-alive connection to the current node."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer, self.buf = reader, writer, bytearray()

    async def ask(self, data: bytes) -> Response:
        self.writer.write(data)
        while (found := parse(self.buf)) is None:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionClosed("closed by the server")
            self.buf += chunk
        del self.buf[:found[1]]
        return found[0]

    def close(self) -> None:
        self.writer.transport.abort()


class _Clients:
    def __init__(self, host: str, ports: list[int], work: Workload, end: float, grace: float,
                 timeout: float, order_id: Callable[[Response], int]) -> None:
        self.host, self.ports, self.work = host, ports, work
        self.end, self.give_up, self.timeout = end, end + grace, timeout
        self.order_id = order_id
        self.seq: Iterator[int] = itertools.count()
        self.out = Failover()

    async def connection(self, first: int) -> None:
        node, conn = first, None
        try:
            while time.monotonic() < self.end:
                node, conn = await self.settle(next(self.seq), node, conn)
        finally:
            if conn is not None:
                conn.close()

    async def settle(self, n: int, node: int, conn: _Node | None) -> tuple[int, _Node | None]:
        """Send request ``n`` until a node answers it (other than 5xx) or time is up."""
        data, sends = self.work.request(n), 0
        while time.monotonic() < self.give_up:
            if conn is None:
                try:
                    async with asyncio.timeout(self.timeout):
                        conn = _Node(*await asyncio.open_connection(self.host, self.ports[node]))
                except (OSError, TimeoutError):
                    self.out.resent["connect refused" if sends else "connect refused (new)"] += 1
                    node = (node + 1) % len(self.ports)
                    await asyncio.sleep(0.02)
                    continue
            sends += 1
            try:
                async with asyncio.timeout(self.timeout):
                    resp = await conn.ask(data)
            except (OSError, TimeoutError, ConnectionClosed, ProtocolError) as exc:
                self.out.resent[f"no answer ({type(exc).__name__})"] += 1
                conn.close()
                conn, node = None, (node + 1) % len(self.ports)
                continue
            if resp.status >= 500:
                self.out.resent[f"answer {resp.status}"] += 1
                conn.close()
                conn, node = None, (node + 1) % len(self.ports)
                await asyncio.sleep(0.05)
                continue
            if resp.status == 201:
                replayed = resp.headers.get("idempotent-replayed") == "true"
                self.out.told[n] = Told(self.order_id(resp), node, replayed, sends,
                                        time.monotonic())
            else:
                self.out.refused[str(resp.status)] += 1
            if resp.headers.get("connection", "").lower() == "close":
                conn.close()
                conn = None
            return node, conn
        self.out.unknown.append(n)
        return node, conn


def order_id(resp: Response) -> int:
    return int(json.loads(resp.body)["id"])


async def _run(host: str, ports: list[int], work: Workload, concurrency: int, seconds: float,
               grace: float, timeout: float, during: Callable[[], object] | None,
               at: float) -> Failover:
    start = time.monotonic()
    clients = _Clients(host, ports, work, start + seconds, grace, timeout, order_id)
    clients.out.started = start
    tasks = [asyncio.create_task(clients.connection(i % len(ports)))
             for i in range(concurrency)]
    if during is not None:
        await asyncio.sleep(at)
        # the kill and whatever the caller watches after it, off the event loop
        await asyncio.get_running_loop().run_in_executor(None, during)
    await asyncio.gather(*tasks)
    clients.out.ended = time.monotonic()
    return clients.out


def run(host: str, ports: list[int], work: Workload, concurrency: int, seconds: float,
        grace: float, timeout: float, during: Callable[[], object] | None = None,
        at: float = 0.0) -> Failover:
    """``concurrency`` connections spread over ``ports`` for ``seconds``; ``during`` is called
    (in a thread) ``at`` seconds in. Requests in flight at the end may take ``grace`` more
    seconds to find a node that answers."""
    return asyncio.run(_run(host, ports, work, concurrency, seconds, grace, timeout, during, at))
