"""The figures bench/topups.py collects, and how they are printed: table, chart, Markdown."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import _support as sup
from _workloads import AMOUNT

CHART_NAME = "benchmarks-topups-sweep.svg"


@dataclass(frozen=True)
class Phase:
    """One load phase: answers per second in the window, latencies, CPU ms per answer."""

    rate: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_ms: float = 0.0
    db_ms: float = 0.0
    client_ms: float = 0.0
    moved: int = 0


@dataclass
class Result:
    backend: str
    workers: int
    concurrency: int
    seconds: float
    healthz: Phase = field(default_factory=Phase)
    topups: Phase = field(default_factory=Phase)
    replays: Phase = field(default_factory=Phase)
    usage: Phase = field(default_factory=Phase)
    sweep: list[tuple[int, Phase]] = field(default_factory=list)
    rss_mib: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    checks: list[str] = field(default_factory=list)
    server_log: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return not self.checks and not self.errors

    @property
    def label(self) -> str:
        return f"{self.backend}, {self.workers} worker{'s' if self.workers > 1 else ''}"


@dataclass(frozen=True)
class Calibration:
    """The client alone against a trivial server."""

    rate: float
    cpu_us: float
    errors: int


def calibration_line(cal: Calibration, conc: int) -> str:
    return (f"client alone (trivial asyncio server, {conc} in flight): {cal.rate:,.0f} "
            f"requests/s, {cal.cpu_us:.0f} µs client CPU per request, {cal.errors} errors")


TABLE_HEAD = (
    "| backend | workers | top-ups/s | p50 ms | p99 ms | CPU ms/top-up: server | database "
    "| client | server RSS MiB | replays/s | usage/s | ÷ pgbench | healthz/s | errors "
    "| checks |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def _row(r: Result, pgbench: float | None) -> str:
    t = r.topups
    db = f"{t.db_ms:.2f}" if r.backend == "postgresql" else "(in server)"
    ratio = f"{t.rate / pgbench:.2f}" if pgbench and r.backend == "postgresql" else "-"
    return (f"| {r.backend} | {r.workers} | {t.rate:,.0f} | {t.p50_ms:.1f} | {t.p99_ms:.1f} "
            f"| {t.server_ms:.2f} | {db} | {t.client_ms:.3f} | {r.rss_mib:.0f} "
            f"| {r.replays.rate:,.0f} | {r.usage.rate:,.0f} | {ratio} | {r.healthz.rate:,.0f} "
            f"| {sum(r.errors.values())} | {'ok' if not r.checks else 'FAILED'} |")


def table(results: list[Result], pgbench: float | None) -> str:
    rows = [TABLE_HEAD, *(_row(r, pgbench) for r in results)]
    if pgbench is not None:
        rows.append(f"| pgbench TPC-B (same PostgreSQL) | - | {pgbench:,.0f} tps | - | - | - "
                    f"| - | - | - | - | - | 1.00 | - | - | - |")
    return "\n".join(rows)


def sweep_table(results: list[Result]) -> str:
    """Top-ups/s (p99 ms) per configuration against requests in flight."""
    points = sorted({c for r in results for c, _ in r.sweep})
    if not points:
        return ""
    head = "| requests in flight | " + " | ".join(r.label for r in results) + " |"
    rows = [head, "|---:|" + "---:|" * len(results)]
    for c in points:
        cells = []
        for r in results:
            found = dict(r.sweep).get(c)
            cells.append(f"{found.rate:,.0f} ({found.p99_ms:.0f} ms)" if found else "-")
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def notes(results: list[Result]) -> str:
    out = []
    for r in results:
        label = f"{r.backend}, {r.workers} worker(s)"
        out += [f"- {label}: check failed: {c}" for c in r.checks]
        out += [f"- {label}: client saw {n} x {what}" for what, n in r.errors.most_common()]
        out += [f"- {label}: server log {n} x `{line}`"
                for line, n in r.server_log.most_common(5)]
    return "\n".join(out) or "- none: no errors, no failed checks, nothing in the server logs"


COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e")


def svg_chart(results: list[Result], width: int = 680, height: int = 360) -> str:
    """Top-ups/s against requests in flight (log2 x axis), one line per configuration; plain
    SVG written here so the bench needs no plotting library."""
    series = [(r.label, r.sweep) for r in results if r.sweep]
    points = sorted({c for _, sw in series for c, _ in sw}) or [1]
    top = max([p.rate for _, sw in series for _, p in sw] + [1.0])
    top = _nice(top)
    left, right, up, down = 70, 190, 20, 50
    pw, ph = width - left - right, height - up - down

    def x(c: int) -> float:
        i = points.index(c)
        return left + (pw * i / (len(points) - 1) if len(points) > 1 else pw / 2)

    def y(v: float) -> float:
        return up + ph * (1 - v / top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for i in range(5):
        v = top * i / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                   f'stroke="#ddd"/><text x="{left - 6}" y="{y(v) + 4:.1f}" '
                   f'text-anchor="end">{v:,.0f}</text>')
    for c in points:
        out.append(f'<text x="{x(c):.1f}" y="{up + ph + 18}" text-anchor="middle">{c}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">'
               f'requests in flight</text>')
    out.append(f'<text transform="translate(16,{up + ph / 2}) rotate(-90)" '
               f'text-anchor="middle">top-ups/s</text>')
    for i, (label, sw) in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{x(c):.1f},{y(p.rate):.1f}" for c, p in sw)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"/>')
        out += [f'<circle cx="{x(c):.1f}" cy="{y(p.rate):.1f}" r="3" fill="{colour}"/>'
                for c, p in sw]
        out.append(_legend(left + pw + 12, up + 16 + 18 * i, colour, label))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _legend(x: int, y: int, colour: str, label: str) -> str:
    return (f'<line x1="{x}" x2="{x + 20}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2"/><text x="{x + 26}" y="{y}">{_escape(label)}</text>')


def _procs(n: int) -> str:
    return "one client process" if n == 1 else f"{n} client processes (forked, results merged)"


def _nice(v: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``v``."""
    step = 1.0
    while step * 10 <= v:
        step *= 10
    return next(m * step for m in (1, 2, 5, 10) if m * step >= v)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Report:
    results: list[Result]
    pgbench: float | None
    alone: Calibration
    machine: sup.Machine
    args: argparse.Namespace
    took: float

    def text(self) -> str:
        return "\n\n".join(part for part in [calibration_line(self.alone, self.args.concurrency),
                            table(self.results, self.pgbench), sweep_table(self.results),
                            self.machine.describe(), "Problems:\n" + notes(self.results)] if part)

    def markdown(self) -> str:
        a, here = self.args, Path(__file__).resolve().parent.name
        sweep = ",".join(str(c) for c in a.sweep)
        # the prose below names `SELECT 1`, which is all S608 sees in it
        note = f"*{self.args.note.strip()}*\n\n" if self.args.note.strip() else ""
        return f"""## Durable top-ups per second through the HTTP API

{note}What is measured: `POST /api/v1/admin/lines/{{id}}/credit` (a manual credit of
{AMOUNT / 100:.2f} CNY, a fresh `Idempotency-Key` each) through `topup serve` on the loopback,
with {a.concurrency} requests in flight spread over {a.lines} lines. A 201 means the order, its
events, the audit entry and the ledger transfer are committed (SQLite WAL with
`synchronous=FULL`; PostgreSQL with `synchronous_commit=on`). *top-ups/s* counts the 201s
completed in a {a.seconds:g} s window after a {a.warmup:g} s warm-up; p50/p99 are their
latencies as the client saw them.

The load comes from `{here}/_loadgen.py`, a raw asyncio HTTP/1.1 client: one keep-alive
connection per request in flight, hand-built request bytes, a minimal response parser (status
line, headers, `Content-Length` body), a {a.timeout:g} s deadline per request (a timeout or a
dropped connection is counted as an error, and the request is resent afterwards under the same
key to learn whether it moved value), {_procs(a.client_procs)}. Calibration, in the
same run: against a trivial asyncio server on the loopback the client alone drives
**{self.alone.rate:,.0f} requests/s** at {a.concurrency} in flight
({self.alone.cpu_us:.0f} µs of client CPU per request); *healthz/s* is `GET /healthz` of each
server at the same concurrency: the app's cheapest route (it checks the database with
`SELECT 1` at most once a second), through the same HTTP stack, limits and metrics.

*CPU ms/top-up*: utime + stime from `/proc` over the whole top-up phase (warm-up included),
divided by its 201s — *server*: the `topup serve` process group (master, API workers and
the writer process);
*database*: PostgreSQL's background processes and its backends connected to `topup_bench`
(on SQLite the database works inside the server process); *client*: the load generator.
*server RSS*: the largest `VmHWM` of the server's processes at the end. *replays/s*: the keys
of the measured 201s resent with the same body for {a.side_seconds:g} s; each must come back
201 with `Idempotent-Replayed: true` and move nothing. *usage/s*: `POST /api/v1/usage`, one SMS
in TH per record with a fresh `record_id`, on the bench lines that the top-ups credited,
charged from the wallet at the out-of-bundle rate (a 201 with `money_charged` > 0 counts), for
{a.side_seconds:g} s. *÷ pgbench*: top-ups/s divided by `pgbench` TPC-B tps (scale 10,
`-c {a.concurrency} -j 2 -T {max(1, round(a.seconds))}`) on the same PostgreSQL server in the
same run. *checks*: `topup ledger check` exits 0 and the bench lines' wallets hold exactly
{AMOUNT} × the 201s of every top-up phase minus what the usage answers charged.

{table(self.results, self.pgbench)}

Throughput against requests in flight ({a.sweep_seconds:g} s per point after 1 s of warm-up;
top-ups/s, p99 in brackets):

{sweep_table(self.results) or "(no sweep in this run)"}

![top-ups/s against requests in flight]({CHART_NAME})

{self.machine.describe()} Client, server and database share the machine, so its CPUs bound
all rows; the whole run took {self.took:.0f} s.

Problems seen during the run:

{notes(self.results)}

Rerun (PostgreSQL from `scripts/postgres`; the bench recreates `topup_bench` for each
PostgreSQL row and leaves the last one for inspection; `pgbench_bench` is dropped afterwards):

```
bash scripts/postgres
.venv/bin/python {here}/topups.py --seconds {a.seconds:g} --concurrency {a.concurrency} \\
    --side-seconds {a.side_seconds:g} --sweep {sweep} --sweep-seconds {a.sweep_seconds:g} \\
    --client-procs {a.client_procs} --out docs/benchmarks.md
```
"""  # noqa: S608
