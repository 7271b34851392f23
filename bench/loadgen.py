"""The load generator of bench/topups.py on its own: its ceiling, and how it counts a bad server.

Run: ``.venv/bin/python bench/loadgen.py [--seconds 2] [--concurrency 1,16,64]``.
*Ceiling*: ``GET /`` against a trivial asyncio server (its own process, loopback) with 1 and 2
client processes: requests/s and CPU per request of the client. *Misbehaving server*: a server
that answers in turn 200, 503, too late, not at all (closes), garbage, a 200 dribbled out in
pieces and a 200 with ``Connection: close``; every kind must be counted under its own label,
every lost answer must be listed for resending, and the run must end on time. Exit 1 if not.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import _loadgen as lg  # bench/ is a folder of scripts: run as a script, it is on sys.path
import _support as sup
from _meter import cpu_seconds
from _workloads import Get

TIMEOUT = 0.3
BEHAVIOURS = 7
EXPECTED = {"ok", "503", "TimeoutError", "ConnectionClosed", "ProtocolError"}
LOST = ("TimeoutError", "ConnectionClosed", "ProtocolError")


async def _misbehave(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     counter: list[int]) -> None:
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            counter[0] += 1
            kind = counter[0] % BEHAVIOURS
            if kind == 0:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            elif kind == 1:
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
            elif kind == 2:
                await asyncio.sleep(TIMEOUT * 4)
                writer.close()
                return
            elif kind == 3:
                writer.close()
                return
            elif kind == 4:
                writer.write(b"SPAM 200 nonsense\r\n\r\n")
            elif kind == 5:
                for piece in (b"HTTP/1.1 200 OK\r\nConte", b"nt-Length: 5\r\n\r\nhe", b"llo"):
                    writer.write(piece)
                    await writer.drain()
                    await asyncio.sleep(0.01)
            else:
                writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                writer.close()
                return
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _serve_badly(port: int, lifetime: float) -> None:
    async def main() -> None:
        counter = [0]
        server = await asyncio.start_server(
            lambda r, w: _misbehave(r, w, counter), sup.LOOPBACK, port)
        async with server:
            await asyncio.sleep(lifetime)
    asyncio.run(main())


@contextmanager
def bad_server(port: int, lifetime: float) -> Iterator[None]:
    proc = multiprocessing.get_context("fork").Process(target=_serve_badly,
                                                       args=(port, lifetime), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                lg.resend(sup.LOOPBACK, port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=1)
                break
            except (OSError, lg.ConnectionClosed):
                time.sleep(0.05)
        yield
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)


def misbehaving(seconds: float) -> list[str]:
    """Drive the bad server; the problems found (none when the client behaves)."""
    port = sup.free_port()
    with bad_server(port, lifetime=seconds + 30):
        start = time.monotonic()
        out = lg.run(sup.LOOPBACK, port, Get(f"{sup.LOOPBACK}:{port}", "/"), 8, 0, seconds,
                     timeout=TIMEOUT)
        took = time.monotonic() - start
    seen = dict(out.errors) | {"ok": out.ok}
    print(f"misbehaving server, {seconds:g} s, 8 in flight, {TIMEOUT} s timeout: {seen}, "
          f"{len(out.unknown)} lost answers, took {took:.2f} s")
    problems = [f"no {label!r} counted" for label in EXPECTED if not seen.get(label)]
    problems += [f"unexpected label {label!r}" for label in seen if label not in EXPECTED]
    lost = sum(out.errors[label] for label in LOST)
    if len(out.unknown) != lost:
        problems.append(f"{len(out.unknown)} listed for resending, {lost} answers lost")
    if took > seconds + TIMEOUT + 1:
        problems.append(f"took {took:.2f} s for a {seconds:g} s run")
    return problems


def ceiling(concurrency: list[int], seconds: float) -> None:
    print("| client processes | in flight | requests/s | client CPU µs/request "
          "| server CPU µs/request | errors |\n|---:|---:|---:|---:|---:|---:|")
    for procs in (1, 2):
        for conc in concurrency:
            port = sup.free_port()
            with lg.trivial_server(port, lifetime=seconds + 30) as pid:
                before = cpu_seconds([pid])
                out = lg.run(sup.LOOPBACK, port, Get(f"{sup.LOOPBACK}:{port}", "/"), conc, 0.5,
                             seconds, procs=procs)
                server = cpu_seconds([pid]) - before
            done = max(out.ok, 1)
            print(f"| {procs} | {conc} | {out.rate:,.0f} | {out.cpu_s / done * 1e6:.1f} "
                  f"| {server / done * 1e6:.1f} | {sum(out.errors.values())} |", flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=2, help="seconds per measurement")
    p.add_argument("--concurrency", default="1,16,64", help="requests in flight to try")
    args = p.parse_args(argv)
    print(f"load average before: {sup.load_average()}")
    ceiling([int(c) for c in args.concurrency.split(",")], args.seconds)
    problems = misbehaving(args.seconds)
    for problem in problems:
        print(f"FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
