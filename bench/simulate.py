"""100 M lines and their daily traffic: rows per day per table, partition and index sizes, and
the database nodes the measured rates imply.

Run: ``.venv/bin/python bench/simulate.py [--lines 100000000] [--sample 2000]``. Two steps.

1. **Measure** (on a scratch PostgreSQL database, ``topup_simulate``, dropped afterwards): the
   real ``topup serve`` gets ``topup demo``, then the real API makes, in turn, ``--sample-lines``
   lines, ``--sample`` manual top-ups, ``--sample`` plan orders paid from the wallet and
   ``--sample`` usage records (one SMS each), and ``topup worker --once`` delivers the
   notifications they queued. Around each step every table's rows are counted: the rows one
   event adds to each table (its *fan-out*). PostgreSQL's CPU (its backends of the scratch
   database and its background processes, from /proc) is read around each step: CPU per
   event. At the end, every table's heap (``pg_table_size``, TOAST included) and indexes
   (``pg_indexes_size``; summed over partitions where a table is partitioned) are divided by
   its rows: bytes per row and per row's index entries.
2. **Model**: per-line daily rates (options below, printed with the output) times the fan-out
   give rows per day per table; with the measured bytes, sizes per day, per monthly partition
   (append-only logs) and per hash partition of line-keyed tables (``--hash-partitions``), and
   the database nodes that the peak rate needs by CPU (measured CPU per event), by the
   measured per-node rates of bench/scale.py and docs/benchmarks.md, and by storage.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _support as sup
import httpx
from _meter import TICK, postgres_pids, stat
from topups import setup

DEFAULT_PG = "postgresql+psycopg://topup:topup@127.0.0.1:5432/topup"
SIM_DB = "topup_simulate"
# the four append-only logs migration 0032 range-partitions by month (docs/partitioning.md)
MONTHLY = ("usage_records", "notification_outbox", "audit_log", "order_events")
GIB = 1024 ** 3


# --- measuring --------------------------------------------------------------------------------

@dataclass
class Table:
    name: str
    rows: int
    heap: int  # bytes, TOAST and maps included, summed over partitions
    index: int  # bytes of all its indexes, summed over partitions
    indexes: int  # how many indexes (of the parent, or of the plain table)

    @property
    def heap_per_row(self) -> float:
        return self.heap / self.rows if self.rows else 0.0

    @property
    def index_per_row(self) -> float:
        return self.index / self.rows if self.rows else 0.0


@dataclass
class Step:
    """One kind of event: how many were made, the rows they added, PostgreSQL's CPU."""

    name: str
    count: int = 0
    added: Counter[str] = field(default_factory=Counter)
    db_cpu_s: float = 0.0

    def per_event(self, table: str) -> float:
        return self.added[table] / self.count if self.count else 0.0


TABLES_SQL = """
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
ORDER BY 1"""

# a plain table is its own only leaf; pg_partition_tree has no rows for it
SIZES_SQL = """
SELECT coalesce(sum(pg_table_size(t.relid)), 0), coalesce(sum(pg_indexes_size(t.relid)), 0)
FROM (SELECT relid FROM pg_partition_tree(%(t)s::regclass) WHERE isleaf
      UNION SELECT %(t)s::regclass) t"""
# rows of the bench's own doing (logins, the worker's schedule), not of the events modelled
NOT_EVENTS = {"attempt_counters", "auth_tokens", "job_runs"}


def tables(url: str) -> list[str]:
    with sup.pg_connect(url) as conn:
        return [r[0] for r in conn.execute(TABLES_SQL).fetchall()]


def counts(url: str, names: list[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    with sup.pg_connect(url) as conn:
        for name in names:
            row = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()  # noqa: S608 - ours
            found[name] = int(row[0]) if row else 0
    return found


def sizes(url: str, names: list[str]) -> dict[str, Table]:
    out = {}
    with sup.pg_connect(url) as conn:
        conn.execute("VACUUM ANALYZE")  # the maps made, dead rows of updates reclaimable
        rows = counts(url, names)
        for name in names:
            heap, index = conn.execute(SIZES_SQL, {"t": name}).fetchone() or (0, 0)
            n = conn.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass",
                             (name,)).fetchone()
            out[name] = Table(name, rows[name], int(heap), int(index), int(n[0]) if n else 0)
    return out


def pg_ticks() -> dict[int, int]:
    """CPU ticks of PostgreSQL's processes and of its backends of the scratch database."""
    found = {}
    for pid in postgres_pids(SIM_DB):
        s = stat(pid)
        if s is not None:
            found[pid] = s.cpu_ticks
    return found


def step(name: str, url: str, names: list[str], work: Callable[[], int]) -> Step:
    """Run ``work``; the rows it added per table and PostgreSQL's CPU meanwhile (per process:
    one that started meanwhile counts from zero, one that ended — the counting connection's
    backend, say — is left out)."""
    before = counts(url, names)
    ticks = pg_ticks()
    made = work()
    cpu = sum(t - ticks.get(pid, 0) for pid, t in pg_ticks().items()) / TICK
    after = counts(url, names)
    added = Counter({t: after[t] - before[t] for t in names
                     if after[t] != before[t] and t not in NOT_EVENTS})
    return Step(name, made, added, cpu)


def sent(url: str) -> int:
    with sup.pg_connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM notification_outbox WHERE state = 'sent'"
                           ).fetchone()
    return int(row[0]) if row else 0


def many(base: str, token: str, requests: list[tuple[str, dict[str, object], str]],
         expect: tuple[int, ...] = (201,)) -> int:
    """POST each (path, body, idempotency key) with 8 in flight; how many got ``expect``."""
    headers = {"Authorization": f"Bearer {token}"}

    def one(client: httpx.Client, item: tuple[str, dict[str, object], str]) -> bool:
        path, body, key = item
        extra = {"Idempotency-Key": key} if key else {}
        r = client.post(path, json=body, headers=headers | extra)
        return r.status_code in expect

    with httpx.Client(base_url=base, timeout=30, trust_env=False,
                      limits=httpx.Limits(max_connections=8)) as client, \
            ThreadPoolExecutor(8) as pool:
        done = list(pool.map(lambda item: one(client, item), requests))
    bad = done.count(False)
    if bad:
        raise RuntimeError(f"{bad} of {len(requests)} requests to {requests[0][0]} refused")
    return len(done)


def a_plan(base: str, currency: str) -> tuple[int, int]:
    """A plan on sale in ``currency``: (id, price in minor units) — the cheapest."""
    r = httpx.get(f"{base}/api/v1/plans", params={"currency": currency}, timeout=30,
                  trust_env=False)
    r.raise_for_status()
    priced = [(int(p["quote"]["total"]), int(p["id"])) for p in r.json()
              if p.get("quote") and p["quote"].get("total")]
    if not priced:
        raise RuntimeError(f"no plan on sale in {currency}")
    price, ident = min(priced)
    return ident, price


def measure(args: argparse.Namespace, pg_url: str) -> tuple[list[Step], dict[str, Table]]:
    url = sup.recreate_database(pg_url, SIM_DB)
    try:
        with tempfile.TemporaryDirectory(prefix="topup-simulate-") as tmp:
            env = sup.topup_env(Path(tmp), url) | {  # travellers register quickly
                "TOPUP_ARGON2_MEMORY_KIB": "8192", "TOPUP_ARGON2_TIME_COST": "1",
                "TOPUP_REGISTER_PER_IP": "1000000"}
            seeded = sup.run_topup(env, "demo", timeout=300)
            if seeded.returncode != 0:
                raise RuntimeError(f"topup demo failed: {seeded.stderr}")
            names = tables(url)
            with sup.server(env, 1, Path(tmp) / "server.log") as srv:
                steps = drive(srv.base, url, names, env, args)
            return steps, sizes(url, names)
    finally:
        sup.drop_database(pg_url, SIM_DB)


def drive(base: str, url: str, names: list[str], env: dict[str, str],
          args: argparse.Namespace) -> list[Step]:
    tag, made = uuid.uuid4().hex[:8], dict[str, Any]()

    def lines() -> int:
        """Lines made by staff, each bound by a traveller of its own (e-mail and phone), so
        the events below queue the notifications a traveller gets."""
        token, ids, iccids = setup(base, args.sample_lines)
        made.update(token=token, ids=ids, iccids=iccids)
        with httpx.Client(base_url=base, timeout=30, trust_env=False) as c:
            for n, iccid in enumerate(iccids, 1):
                email, password = f"sim-{tag}-{n}@example.com", f"travel-{tag}-{n}"
                r = c.post("/api/v1/auth/register", json={
                    "email": email, "phone": f"+6681{n:07d}", "password": password})
                if r.status_code != 201:
                    raise RuntimeError(f"registering a traveller: {r.status_code} {r.text}")
                t = c.post("/api/v1/auth/token", data={"username": email, "password": password})
                r = c.post("/api/v1/lines/bind", json={"identifier": iccid,
                                                       "secret": f"bench-{n:04d}"},
                           headers={"Authorization": f"Bearer {t.json()['access_token']}"})
                if r.status_code != 200:
                    raise RuntimeError(f"binding a line: {r.status_code} {r.text}")
        return len(ids)

    steps = [step("line", url, names, lines)]
    token, ids, iccids = made["token"], made["ids"], made["iccids"]
    plan_id, price = a_plan(base, "CNY")
    # enough on every line for its share of the plans, then the top-ups measured
    credit = max(1000, price * (args.sample // len(ids) + 2))

    def topups() -> int:
        return many(base, token, [(f"/api/v1/admin/lines/{ids[i % len(ids)]}/credit",
                                   {"amount": credit, "currency": "CNY", "reason": "simulate",
                                    "confirm_duplicate": True}, f"sim-{tag}-t{i}")
                                  for i in range(args.sample)])

    def orders() -> int:
        return many(base, token, [("/api/v1/orders",
                                   {"line_id": ids[i % len(ids)], "kind": "plan",
                                    "method": "wallet", "plan_id": plan_id,
                                    "confirm_duplicate": True}, f"sim-{tag}-o{i}")
                                  for i in range(args.sample)])

    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def usage() -> int:
        return many(base, token, [("/api/v1/usage",
                                   {"record_id": f"sim-{tag}-u{i}",
                                    "line": iccids[i % len(iccids)], "unit": "sms",
                                    "quantity": 1, "country": "TH", "occurred_at": at}, "")
                                  for i in range(args.sample)])

    def deliver() -> int:
        """One round of the worker: the messages it sends (a batch), and what each adds."""
        before = sent(url)
        done = sup.run_topup(env | {"TOPUP_NOTIFY_BATCH_SIZE": str(args.sample)}, "worker",
                             "--once", timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"topup worker --once failed: {done.stderr[-500:]}")
        return sent(url) - before

    steps += [step("top-up", url, names, topups), step("plan order", url, names, orders),
              step("usage record", url, names, usage),
              step("notification delivered", url, names, deliver)]
    return steps


# --- the model --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Daily:
    """Events per line per day (averages over all lines, dormant ones included)."""

    topups: float
    orders: float
    usage: float

    def per_day(self, lines: int) -> dict[str, float]:
        return {"top-up": self.topups * lines, "plan order": self.orders * lines,
                "usage record": self.usage * lines}


def model_rows(steps: list[Step], daily: Daily, lines: int) -> dict[str, float]:
    """Rows per day per table: each event's fan-out times its daily count; the notifications
    delivered are those the events queued (their delivery rows scaled to them)."""
    events = daily.per_day(lines)
    by_name = {s.name: s for s in steps}
    rows: dict[str, float] = {}
    for name, count in events.items():
        for table in by_name[name].added:
            rows[table] = rows.get(table, 0.0) + by_name[name].per_event(table) * count
    delivered = by_name["notification delivered"]
    queued = rows.get("notification_outbox", 0.0)
    for table in delivered.added:
        if delivered.count and table != "notification_outbox":
            rows[table] = rows.get(table, 0.0) + delivered.added[table] / delivered.count * queued
    return rows


def line_rows(steps: list[Step], lines: int) -> dict[str, float]:
    s = next(x for x in steps if x.name == "line")
    return {t: s.per_event(t) * lines for t in s.added}


def fmt(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.1f}" if n and abs(n) < 10 else f"{n:,.0f}"


def gib(n: float) -> str:
    return f"{n / GIB:,.1f}" if n >= GIB / 10 else f"{n / GIB:,.2f}"


def report(steps: list[Step], sized: dict[str, Table], args: argparse.Namespace) -> str:
    daily = Daily(args.topups, args.orders, args.usage)
    events = daily.per_day(args.lines)
    per_day = model_rows(steps, daily, args.lines)
    per_line = line_rows(steps, args.lines)
    notes = per_day.get("notification_outbox", 0.0) / args.lines
    out = [assumptions(args, events, notes), fanout(steps, sized),
           daily_table(per_day, sized, args), partitions(per_day, per_line, sized, args),
           nodes(steps, events, per_day, per_line, sized, args)]
    return "\n\n".join(out)


def assumptions(args: argparse.Namespace, events: dict[str, float], notes: float) -> str:
    total = sum(events.values())
    return "\n".join([
        f"Assumptions: {fmt(args.lines)} lines; per line per day (all lines, dormant ones "
        f"included): {args.topups:g} top-ups, {args.orders:g} plan orders, {args.usage:g} "
        f"usage reports / charging updates; notifications: those the events queue, as measured "
        f"({notes:.3f} per line per day, every line bound by a traveller with e-mail and "
        f"phone). "
        f"Peak hour = {args.peak:g} x the day's average rate.",
        "Events per day: " + ", ".join(f"{fmt(v)} {k}s" for k, v in events.items()) +
        f" = {fmt(total)} ({fmt(total / 86400)}/s average, {fmt(total / 86400 * args.peak)}/s "
        f"at peak)."])


def fanout(steps: list[Step], sized: dict[str, Table]) -> str:
    names = sorted({t for s in steps for t in s.added})
    head = ("| table | " + " | ".join(f"per {s.name} (of {s.count})" for s in steps) +
            " | rows in sample | heap B/row | index B/row | indexes |")
    rows = [head, "|---|" + "---:|" * (len(steps) + 4)]
    for t in names:
        info = sized[t]
        cells = " | ".join(f"{s.per_event(t):.2f}" if s.added[t] else "" for s in steps)
        rows.append(f"| {t} | {cells} | {info.rows:,} | {info.heap_per_row:,.0f} "
                    f"| {info.index_per_row:,.0f} | {info.indexes} |")
    cpu = " | ".join(f"{s.db_cpu_s / max(s.count, 1) * 1000:.2f}" for s in steps)
    rows.append(f"| PostgreSQL CPU ms per event | {cpu} | | | | |")
    return ("Measured on the real schema (rows each event adds per table; bytes per row and "
            "per row's index entries, heap with TOAST, after VACUUM, so with the free space "
            "that rows updated in place leave):\n\n" + "\n".join(rows))


def daily_table(per_day: dict[str, float], sized: dict[str, Table],
                args: argparse.Namespace) -> str:
    rows = ["| table | rows/day | heap GiB/day | index GiB/day | layout |",
            "|---|---:|---:|---:|---|"]
    total_h = total_i = 0.0
    for t, n in sorted(per_day.items(), key=lambda kv: (-kv[1], kv[0])):
        info = sized[t]
        h, i = n * info.heap_per_row, n * info.index_per_row
        total_h, total_i = total_h + h, total_i + i
        rows.append(f"| {t} | {fmt(n)} | {gib(h)} | {gib(i)} | {layout(t)} |")
    rows.append(f"| **all** | {fmt(sum(per_day.values()))} | {gib(total_h)} | {gib(total_i)} "
                "| |")
    return f"Rows per day ({fmt(args.lines)} lines):\n\n" + "\n".join(rows)


def layout(table: str) -> str:
    return "monthly range (0032)" if table in MONTHLY else "by line id (hash)"


def partitions(per_day: dict[str, float], per_line: dict[str, float],
               sized: dict[str, Table], args: argparse.Namespace) -> str:
    month = ["| append-only log | rows/month | heap GiB per monthly partition "
             "| index GiB | months kept online |", "|---|---:|---:|---:|---:|"]
    for t in MONTHLY:
        n = per_day.get(t, 0.0) * 30
        info = sized[t]
        month.append(f"| {t} | {fmt(n)} | {gib(n * info.heap_per_row)} "
                     f"| {gib(n * info.index_per_row)} | {args.months_online} |")
    parts = args.hash_partitions
    hashed = [f"| line-keyed table | rows | heap GiB per hash partition (of {parts}) "
              f"| index GiB | after {args.months_kept} months |",
              "|---|---:|---:|---:|---|"]
    names = sorted({t for t in set(per_line) | set(per_day) if t not in MONTHLY},
                   key=lambda t: (-(per_line.get(t, 0) + per_day.get(t, 0) * 30), t))
    for t in names:
        n = per_line.get(t, 0.0) + per_day.get(t, 0.0) * 30 * args.months_kept
        info = sized[t]
        grows = "grows with events" if t in per_day else "one set per line"
        hashed.append(f"| {t} | {fmt(n)} | {gib(n * info.heap_per_row / parts)} "
                      f"| {gib(n * info.index_per_row / parts)} | {grows} |")
    return ("Partition sizes (of all lines: sharded over n database nodes, each "
            "holds 1/n of every partition) — monthly partitions of the append-only logs:\n\n" +
            "\n".join(month) + f"\n\nHash partitions ({parts}) of the tables keyed by line "
            "(lines, wallets, buckets and the line's own history):\n\n" + "\n".join(hashed))


def total_bytes(per_day: dict[str, float], per_line: dict[str, float],
                sized: dict[str, Table], args: argparse.Namespace) -> float:
    """Bytes online: the logs' months kept online, the other tables' months kept."""
    total = 0.0
    for t in set(per_day) | set(per_line):
        info = sized[t]
        months = args.months_online if t in MONTHLY else args.months_kept
        n = per_line.get(t, 0.0) + per_day.get(t, 0.0) * 30 * months
        total += n * (info.heap_per_row + info.index_per_row)
    return total


def nodes(steps: list[Step], events: dict[str, float], per_day: dict[str, float],
          per_line: dict[str, float], sized: dict[str, Table], args: argparse.Namespace) -> str:
    by_name = {s.name: s for s in steps}
    peak = {k: v / 86400 * args.peak for k, v in events.items()}
    # CPU: what PostgreSQL spent per event here, at the peak rate, on nodes kept half busy
    cpu = sum(peak[k] * by_name[k].db_cpu_s / max(by_name[k].count, 1) for k in peak)
    cores = args.node_cores * args.utilisation
    by_cpu = math.ceil(cpu / cores)
    # throughput: a measured machine's rates, scaled by cores, as many nodes as needed
    def machines(topups: float) -> float:
        usage = args.node_usage * topups / args.node_topups  # usage scaled alike
        return sum(peak[k] / (usage if k == "usage record" else topups) for k in peak)

    quiet, shared = machines(args.node_topups), machines(args.scale_topups)

    def by_rate(share: float) -> int:
        return math.ceil(share * args.measured_cores / args.node_cores / args.utilisation)

    stored = total_bytes(per_day, per_line, sized, args)
    by_disk = math.ceil(stored / (args.node_disk_tib * 1024 ** 4 * args.utilisation))
    return "\n".join([
        "Database nodes:",
        "",
        "| bound | need | nodes |",
        "|---|---|---:|",
        f"| CPU: peak {fmt(sum(peak.values()))} events/s x PostgreSQL CPU per event measured "
        f"above | {cpu:,.1f} cores | {by_cpu} of {args.node_cores} cores at "
        f"{args.utilisation:.0%} |",
        f"| throughput, docs/benchmarks.md: {args.node_topups:,.0f} top-ups/s and "
        f"{args.node_usage:,.0f} usage records/s per {args.measured_cores}-core machine "
        f"(API, writer and PostgreSQL together; orders counted as top-ups) "
        f"| {quiet:,.1f} such machines = {quiet * args.measured_cores:,.0f} cores "
        f"| {by_rate(quiet)} of {args.node_cores} cores at {args.utilisation:.0%} |",
        f"| throughput, bench/scale.py (1 node behind PgBouncer): "
        f"{args.scale_topups:,.0f} top-ups/s, usage scaled alike "
        f"| {shared:,.1f} such machines = {shared * args.measured_cores:,.0f} cores "
        f"| {by_rate(shared)} of {args.node_cores} cores at {args.utilisation:.0%} |",
        f"| storage: the logs' last {args.months_online} months, {args.months_kept} months "
        f"of everything else, every line's rows "
        f"| {stored / 1024 ** 4:,.1f} TiB | {by_disk} of {args.node_disk_tib:g} TiB at "
        f"{args.utilisation:.0%} |",
        "",
        f"The largest bound: **{max(by_cpu, by_rate(shared), by_disk)} database nodes** (before "
        f"replicas: each node's standby doubles it for failover)."])


# --- the command ------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=100_000_000)
    p.add_argument("--topups", type=float, default=0.05, help="top-ups per line per day")
    p.add_argument("--orders", type=float, default=0.03, help="plan orders per line per day")
    p.add_argument("--usage", type=float, default=4.0,
                   help="usage reports / charging updates per line per day")
    p.add_argument("--peak", type=float, default=3.0, help="peak hour over the daily average")
    p.add_argument("--hash-partitions", type=int, default=64)
    p.add_argument("--months-online", type=int, default=3,
                   help="months of the monthly logs kept before `topup db archive`")
    p.add_argument("--months-kept", type=int, default=13,
                   help="months of ledger, orders, keys (never archived) to size for")
    p.add_argument("--node-cores", type=int, default=32, help="cores of a database node")
    p.add_argument("--node-disk-tib", type=float, default=4.0, help="disk of a database node")
    p.add_argument("--utilisation", type=float, default=0.5, help="how busy nodes may be")
    p.add_argument("--node-topups", type=float, default=2219,
                   help="top-ups/s measured on one machine (docs/benchmarks.md, PostgreSQL)")
    p.add_argument("--node-usage", type=float, default=1834,
                   help="usage records/s measured on one machine (docs/benchmarks.md)")
    p.add_argument("--scale-topups", type=float, default=1637,
                   help="top-ups/s of bench/scale.py's 1-node row (docs/scaling.md)")
    p.add_argument("--measured-cores", type=int, default=2, help="cores of that machine")
    p.add_argument("--save", type=Path, default=None, help="keep the measurements (JSON)")
    p.add_argument("--load", type=Path, default=None,
                   help="model from measurements saved before, without measuring")
    p.add_argument("--sample", type=int, default=2000, help="events of each kind measured")
    p.add_argument("--sample-lines", type=int, default=200)
    p.add_argument("--pg-url", default=None, help="admin URL (default: scripts/postgres's)")
    p.add_argument("--limit", type=int, default=1200, help="give up after this many seconds")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.alarm(args.limit)
    started = time.monotonic()
    if args.load:
        saved = json.loads(args.load.read_text(encoding="utf-8"))
        steps = [Step(s["name"], s["count"], Counter(s["added"]), s["db_cpu_s"])
                 for s in saved["steps"]]
        sized = {k: Table(**v) for k, v in saved["tables"].items()}
        where = saved["where"]
    else:
        steps, sized = measure(args, args.pg_url or DEFAULT_PG)
        where = (f"measured in {time.monotonic() - started:.0f} s on PostgreSQL "
                 f"{sup.pg_version(args.pg_url or DEFAULT_PG)}; the machine's load average was "
                 f"{sup.load_average()}")
    if args.save:
        args.save.write_text(json.dumps({
            "where": where, "steps": [{"name": s.name, "count": s.count, "added": dict(s.added),
                                       "db_cpu_s": s.db_cpu_s} for s in steps],
            "tables": {k: asdict(v) for k, v in sized.items()}}, indent=1), encoding="utf-8")
    print(report(steps, sized, args))
    print(f"\n({where})")
    return 0


if __name__ == "__main__":
    sup.run_main(main, "simulate", (RuntimeError,))
