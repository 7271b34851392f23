"""Durable top-ups per second through the HTTP API, on SQLite and PostgreSQL, beside pgbench.

Run: ``.venv/bin/python bench/topups.py [--seconds 10] [--concurrency 16] [--sweep 1,4,16,64]
[--out docs/benchmarks.md]``. Each configuration gets a fresh database, ``topup demo``, N bench
lines and a ``topup serve`` subprocess on the loopback. A raw asyncio HTTP/1.1 client
(bench/_loadgen.py) keeps ``concurrency`` requests in flight, one keep-alive connection each:
first ``GET /healthz`` (calibration), then manual credits (``POST
/api/v1/admin/lines/{id}/credit``, a fresh Idempotency-Key each), replays of used keys, usage
records (``POST /api/v1/usage``) and the sweep over requests in flight. CPU of the server, the
database and the client is read around each phase. Afterwards ``topup ledger check`` must pass
and the bench lines' wallets must hold exactly what the answers credited minus what usage
charged. Every server is stopped at the end, also on Ctrl-C and on errors.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import _loadgen as lg  # bench/ is a folder of scripts: run as a script, it is on sys.path
import _report as rep
import _support as sup
import _workloads as wl
import httpx
from _meter import Meter

ADMIN = ("admin@example.com", "demo-admin-pass")
DEFAULT_PG = "postgresql+psycopg://topup:topup@127.0.0.1:5432/topup"
PG_BENCH_DB = "topup_bench"
SETTLE_SECONDS = 60


@dataclass
class Books:
    """Value the client saw move: what must be in the bench lines' wallets afterwards."""

    credited: int = 0
    charged: int = 0
    unknown: int = 0


@dataclass
class Run:
    """One configuration's server and what has been learnt so far."""

    srv: sup.Served
    meter: Meter
    args: argparse.Namespace
    res: rep.Result
    books: Books = field(default_factory=Books)

    def phase(self, work: lg.Workload, concurrency: int, warmup: float, seconds: float
              ) -> tuple[rep.Phase, lg.Outcome]:
        """Drive ``work``; its figures, with CPU per successful answer over the whole phase."""
        before = self.meter.cpu()
        out = lg.run(sup.LOOPBACK, self.srv.port, work, concurrency, warmup, seconds,
                     procs=self.args.client_procs, timeout=self.args.timeout)
        spent, done = self.meter.cpu() - before, max(out.ok, 1)
        self.res.errors.update(out.errors)
        moved = out.moved + self.settle(work, out.unknown)
        return rep.Phase(rate=out.rate, p50_ms=lg.percentile(out.latencies, 0.5) * 1000,
                         p99_ms=lg.percentile(out.latencies, 0.99) * 1000,
                         server_ms=spent.server / done * 1000, db_ms=spent.db / done * 1000,
                         client_ms=out.cpu_s / done * 1000, moved=moved), out

    def settle(self, work: lg.Workload, unknown: list[int]) -> int:
        """Resend the requests whose answers were lost (same key): what they moved. A server
        that no longer answers gets SETTLE_SECONDS in all; the rest stays unknown."""
        moved, deadline = 0, time.monotonic() + SETTLE_SECONDS
        for n in unknown:
            left = min(deadline - time.monotonic(), self.args.timeout)
            found = self.resend(work, n, left) if left > 0 else None
            if found is None:
                self.books.unknown += 1
            else:
                moved += found
        return moved

    def resend(self, work: lg.Workload, n: int, timeout: float) -> int | None:
        try:
            resp = lg.resend(sup.LOOPBACK, self.srv.port, work.request(n), timeout=timeout)
        except (OSError, lg.ConnectionClosed, lg.ProtocolError):
            return None
        return work.settle(resp)


def setup(base: str, count: int) -> tuple[str, list[int], list[str]]:
    """Log in as the demo admin and create ``count`` bench lines: (token, ids, ICCIDs)."""
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        r = client.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        r.raise_for_status()
        token = r.json()["access_token"]
        ids, iccids = [], []
        for n in range(1, count + 1):
            iccid = sup.bench_iccid(n)
            r = client.post("/api/v1/admin/lines", headers={"Authorization": f"Bearer {token}"},
                            json={"iccid": iccid, "secret": f"bench-{n:04d}",
                                  "currency": wl.CURRENCY})
            if r.status_code != 201:
                raise RuntimeError(f"creating bench line {n}: {r.status_code} {r.text}")
            ids.append(int(r.json()["id"]))
            iccids.append(iccid)
    return token, ids, iccids


def measure(run: Run, token: str, ids: list[int], iccids: list[str]) -> None:
    """Calibration, top-ups, replays, usage and the sweep against one running server."""
    args, res, tag = run.args, run.res, uuid.uuid4().hex[:12]
    host = f"{sup.LOOPBACK}:{run.srv.port}"
    res.healthz, _ = run.phase(wl.Get(host, "/healthz"), args.concurrency, 1, args.calibrate)
    credit = wl.Credit(host, token, tuple(ids), f"{tag}-t")
    res.topups, out = run.phase(credit, args.concurrency, args.warmup, args.seconds)
    run.books.credited += res.topups.moved
    if out.good:
        res.replays, _ = run.phase(wl.Replay(credit, tuple(out.good)), args.concurrency, 0.5,
                                   args.side_seconds)
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    usage = wl.Usage(host, token, tuple(iccids), f"{tag}-u", at)
    res.usage, _ = run.phase(usage, args.concurrency, 0.5, args.side_seconds)
    run.books.charged += res.usage.moved
    for conc in args.sweep:
        point, _ = run.phase(replace(credit, run=f"{tag}-s{conc}"), conc, 1, args.sweep_seconds)
        run.books.credited += point.moved
        res.sweep.append((conc, point))
    res.rss_mib = run.meter.peak_rss_mib()


def verify(env: dict[str, str], url: str, lines: list[int], books: Books, res: rep.Result
           ) -> None:
    """The books must balance and the wallets must hold exactly what the answers said."""
    done = sup.run_topup(env, "ledger", "check", timeout=300)
    if done.returncode != 0:
        res.checks.append(f"ledger check exit {done.returncode}: {done.stderr.strip()[-300:]}")
    if books.unknown:
        res.checks.append(f"{books.unknown} requests' outcome unknown even after resending")
    total, expected = sup.wallet_total(url, lines), books.credited - books.charged
    if total != expected:
        res.checks.append(f"wallets hold {total}, expected {books.credited} credited - "
                          f"{books.charged} charged = {expected}")


def run_backend(backend: str, url: str | None, workers: int, args: argparse.Namespace
                ) -> rep.Result:
    """One measured configuration on a fresh database; the server never outlives it."""
    res = rep.Result(backend, workers, args.concurrency, args.seconds)
    with tempfile.TemporaryDirectory(prefix=f"topup-bench-{backend}-") as tmp:
        data_dir = Path(tmp)
        url = url or sup.sqlite_url(data_dir)
        env = sup.topup_env(data_dir, url)
        seeded = sup.run_topup(env, "demo", timeout=300)
        if seeded.returncode != 0:
            raise RuntimeError(f"topup demo failed: {seeded.stderr}")
        log = data_dir / "server.log"
        try:
            with sup.server(env, workers, log) as srv:
                token, ids, iccids = setup(srv.base, args.lines)
                meter = Meter(srv.pgrp, PG_BENCH_DB if backend == "postgresql" else None)
                run = Run(srv, meter, args, res)
                measure(run, token, ids, iccids)
        finally:
            res.server_log = sup.log_problems(log) if log.exists() else Counter()
        verify(env, url, ids, run.books, res)
    return res


def client_alone(args: argparse.Namespace) -> rep.Calibration:
    """The client against a trivial asyncio server on the loopback: its own ceiling."""
    port = sup.free_port()
    seconds = args.calibrate
    with lg.trivial_server(port, lifetime=seconds + 30):
        out = lg.run(sup.LOOPBACK, port, wl.Get(f"{sup.LOOPBACK}:{port}", "/"),
                     args.concurrency, 0.5, seconds, procs=args.client_procs, timeout=args.timeout)
    return rep.Calibration(out.rate, out.cpu_s / max(out.ok, 1) * 1e6, sum(out.errors.values()))


def concurrency_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if any(v < 1 or v > 1024 for v in values):
        raise argparse.ArgumentTypeError("requests in flight between 1 and 1024")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10, help="measured seconds of top-ups")
    p.add_argument("--warmup", type=float, default=2, help="warm-up seconds before measuring")
    p.add_argument("--concurrency", type=int, default=16, help="requests in flight")
    p.add_argument("--lines", type=int, default=64, help="lines to spread top-ups over")
    p.add_argument("--side-seconds", type=float, default=3, help="seconds of replays, of usage")
    p.add_argument("--calibrate", type=float, default=3, help="seconds of each calibration")
    p.add_argument("--sweep", type=concurrency_list, default=[1, 4, 16, 64],
                   help="requests in flight to sweep ('' for none)")
    p.add_argument("--sweep-seconds", type=float, default=3, help="seconds per sweep point")
    p.add_argument("--client-procs", type=int, default=1, help="load generator processes")
    p.add_argument("--timeout", type=float, default=10, help="seconds per request")
    p.add_argument("--pg-url", default=None, help="admin URL (default: scripts/postgres's)")
    p.add_argument("--pg-workers", default="1,2", help="worker counts to try on PostgreSQL")
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="write the Markdown report here")
    p.add_argument("--note", default="", help="a caveat printed under the report's title")
    return p.parse_args(argv)


def run_all(args: argparse.Namespace, pg_url: str | None) -> tuple[list[rep.Result], float | None]:
    results = [run_backend("sqlite", None, 1, args)]
    print(rep.table(results, None), flush=True)
    if pg_url is None:
        return results, None
    for workers in (int(w) for w in args.pg_workers.split(",")):
        bench_url = sup.recreate_database(pg_url, PG_BENCH_DB)
        results.append(run_backend("postgresql", bench_url, workers, args))
        print(rep.table(results[-1:], None), flush=True)
    tps = sup.pgbench_tps(pg_url, args.concurrency, max(1, round(args.seconds)))
    return results, tps


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = sup.load_average()
    if float(load_before.split()[0]) > 0.5:
        print(f"bench: warning: the machine is busy (load {load_before})", file=sys.stderr)
    pg_url = None if args.skip_postgres else (args.pg_url or DEFAULT_PG)
    started = time.monotonic()
    alone = client_alone(args)
    print(rep.calibration_line(alone, args.concurrency), flush=True)
    results, tps = run_all(args, pg_url)
    report = rep.Report(results, tps, alone, sup.machine(pg_url, load_before), args,
                        time.monotonic() - started)
    print(f"\n{report.text()}")
    if args.out:
        chart = args.out.parent / rep.CHART_NAME
        chart.write_text(rep.svg_chart(results), encoding="utf-8")
        sup.write_section(args.out, report.markdown())
        print(f"wrote {args.out} and {chart}")
    return 0 if all(r.ok for r in results) else 1


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    # SIGTERM (and SIGINT, even where a shell started us with it ignored) unwinds like
    # Ctrl-C, so every server and load process is stopped on the way out
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
