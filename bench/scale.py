"""Scale-out: top-ups per second with 1, 2 and 3 API nodes on one PostgreSQL behind PgBouncer,
beside pgbench, then one node killed with SIGKILL under load.

Run: ``.venv/bin/python bench/scale.py [--seconds 10] [--concurrency 24] [--nodes 1,2,3]
[--out docs/benchmarks.md]``. One fresh database (``topup_scale``) on the PostgreSQL of
``--pg-url`` gets ``topup demo`` and the bench lines; Debian's PgBouncer is started on
127.0.0.1:6433 in transaction mode in front of it; ``topup worker`` x 2 and ``topup serve``
nodes (127.0.0.1:18001, 18002, ..., one API process each with the writer process it starts)
reach the database only through PgBouncer, with ``TOPUP_DATABASE_POOLER=transaction``.

For N = 1, 2, 3 nodes the workload of bench/topups.py (manual credits, a fresh Idempotency-Key
each, ``--concurrency`` keep-alive connections spread evenly over the nodes, one load process
per node) runs for a fixed time; the CPU of every process (each API process, each writer
process, each worker, PgBouncer, PostgreSQL, the load generator) is read from /proc around
it. pgbench TPC-B with the same number of clients runs on the same PostgreSQL, directly and
through the same PgBouncer.

The kill phase: 3 nodes, clients that fail over (bench/_failover.py: a request without an
answer is sent again with the same Idempotency-Key to the next node), and half-way through
the API process of node 2 is killed with SIGKILL. Its writer process is watched until it
exits. Afterwards every top-up a client was told succeeded must be in the ledger exactly once
(its key's stored answer names the same order, no two answers name one order), nothing else
is (the bench lines' orders and wallets hold exactly what the answers said), and ``topup
ledger check`` exits 0.

Everything the bench starts is stopped at the end, also on Ctrl-C, SIGTERM, errors and when
``--limit`` seconds have passed; the database is dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import _failover as fo
import _loadgen as lg  # bench/ is a folder of scripts: run as a script, it is on sys.path
import _support as sup
import _workloads as wl
import psycopg
from _meter import TICK, postgres_pids, stat
from _pooler import Pooler, pgbouncer
from sqlalchemy.engine import make_url
from topups import setup

DEFAULT_PG = "postgresql+psycopg://topup:topup@127.0.0.1:5432/topup"
SCALE_DB = "topup_scale"
# Until TOPUP_DATABASE_POOLER is known to the installed topup, its processes get a
# sitecustomize that makes psycopg prepare nothing on the server (PgBouncer 1.18 in transaction
# mode cannot keep prepared statements: the next transaction may run on another connection).
SHIM = '''"""bench/scale.py: psycopg prepares no statement (PgBouncer in transaction mode)."""
import psycopg

_connect = psycopg.Connection.connect.__func__


def _no_prepare(cls, conninfo="", **kwargs):
    kwargs["prepare_threshold"] = None
    return _connect(cls, conninfo, **kwargs)


psycopg.Connection.connect = classmethod(_no_prepare)
psycopg.connect = psycopg.Connection.connect
'''


# --- the processes ----------------------------------------------------------------------------

@dataclass
class Node:
    """One ``topup serve`` (one API process) and the writer process it started."""

    number: int
    port: int
    proc: subprocess.Popen[bytes]
    writer: int | None
    log: Path


def ppid(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return int(raw.rpartition(")")[2].split()[1])


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def writer_of(api_pid: int, timeout: float = 10) -> int | None:
    """The writer process ``topup serve`` started (``python -m topup.db.remote``)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in os.listdir("/proc"):
            if p.isdigit() and ppid(int(p)) == api_pid and "topup.db.remote" in cmdline(int(p)):
                return int(p)
        time.sleep(0.1)
    return None


def alive(pid: int) -> bool:
    """Running (a zombie, or a pid reaped and gone, is not)."""
    s = stat(pid)
    if s is None:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def stop_group(proc: subprocess.Popen[bytes], term_wait: float = 15) -> None:
    """SIGTERM the process group of ``proc`` (its session), SIGKILL what is left after
    ``term_wait`` s; also a group whose leader is dead already (an orphaned writer)."""
    for sig, wait in ((signal.SIGTERM, term_wait), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and group_alive(proc.pid):
            if proc.poll() is None:
                with suppress(subprocess.TimeoutExpired):
                    proc.wait(0.1)
            else:
                time.sleep(0.1)
        if not group_alive(proc.pid):
            break
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)


def group_alive(pgrp: int) -> bool:
    for p in os.listdir("/proc"):
        if p.isdigit():
            s = stat(int(p))
            if s is not None and s.pgrp == pgrp and alive(s.pid):
                return True
    return False


class Cluster:
    """Every process this bench starts (nodes, workers), each in a session of its own;
    ``stop`` stops them all, whatever state they are in."""

    def __init__(self, env: dict[str, str], folder: Path, port_base: int) -> None:
        self.env, self.folder, self.port_base = env, folder, port_base
        self.nodes: list[Node] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        self.logs.append(log)
        with log.open("w") as fh:
            return subprocess.Popen([sup.topup_exe(), *args], env=self.env, stdout=fh,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def add_node(self) -> Node:
        number = len(self.nodes) + 1
        port = self.port_base + number - 1
        log = self.folder / f"node{number}.log"
        proc = self._spawn(["serve", "--host", sup.LOOPBACK, "--port", str(port),
                            "--workers", "1", "--no-migrate"], log)
        node = Node(number, port, proc, None, log)
        self.nodes.append(node)
        sup._wait_healthy(proc, f"http://{sup.LOOPBACK}:{port}", log, 60)
        node.writer = writer_of(proc.pid)
        if node.writer is None:
            raise RuntimeError(f"node {number}: no writer process found")
        return node

    def add_worker(self) -> None:
        number = len(self.workers) + 1
        proc = self._spawn(["worker"], self.folder / f"worker{number}.log")
        time.sleep(0.5)
        if proc.poll() is not None:
            raise RuntimeError(f"topup worker {number} exited: "
                               f"{sup.tail(self.folder / f'worker{number}.log')}")
        self.workers.append(proc)

    def stop(self) -> None:
        for proc in [n.proc for n in self.nodes] + self.workers:
            stop_group(proc)

    def problems(self) -> Counter[str]:
        found: Counter[str] = Counter()
        for log in self.logs:
            if log.exists():
                for line, count in sup.log_problems(log).items():
                    found[f"{log.stem}: {line}"] += count
        return found


# --- CPU --------------------------------------------------------------------------------------

Snapshot = dict[str, dict[int, int]]  # process label -> pid -> CPU ticks


def snapshot(cluster: Cluster, pooler: Pooler, nodes: int) -> Snapshot:
    """CPU ticks of every process of interest, by label (a label may hold several pids)."""
    groups: dict[str, list[int]] = {}
    for node in cluster.nodes[:nodes]:
        groups[f"api{node.number}"] = [node.proc.pid]
        groups[f"writer{node.number}"] = [node.writer] if node.writer else []
    for i, w in enumerate(cluster.workers, 1):
        groups[f"worker{i}"] = [w.pid]
    groups["pgbouncer"] = [pooler.pid]
    groups["postgres"] = postgres_pids(SCALE_DB)
    out: Snapshot = {}
    for label, pids in groups.items():
        ticks = {}
        for pid in pids:
            s = stat(pid)
            if s is not None:
                ticks[pid] = s.cpu_ticks
        out[label] = ticks
    return out


def spent(before: Snapshot, after: Snapshot) -> dict[str, float]:
    """CPU seconds per label between two snapshots; a process that started in between
    counts from zero."""
    return {label: sum(t - before.get(label, {}).get(pid, 0) for pid, t in ticks.items()) / TICK
            for label, ticks in after.items()}


# --- the figures ------------------------------------------------------------------------------

@dataclass
class Point:
    """One node count's top-ups."""

    nodes: int
    rate: float
    p50_ms: float
    p99_ms: float
    ok: int
    wall: float
    cpu: dict[str, float]
    client_s: float
    errors: Counter[str] = field(default_factory=Counter)

    def core(self, label: str) -> float:
        """% of one core over the phase."""
        return self.cpu.get(label, 0.0) / self.wall * 100

    def cores(self, prefix: str) -> list[float]:
        return [self.core(k) for k in sorted(self.cpu) if k.rstrip("0123456789") == prefix]

    @property
    def total_s(self) -> float:
        return sum(self.cpu.values()) + self.client_s


@dataclass
class Killed:
    """The kill phase."""

    victim: int = 0
    killed_at: float = 0.0  # seconds into the phase
    writer_exit_s: float | None = None  # after the kill
    writer_pid: int | None = None
    before_rate: float = 0.0
    after_rate: float = 0.0
    per_node: dict[int, tuple[float, float]] = field(default_factory=dict)  # rate before/after
    told: int = 0
    retried: int = 0
    retried_replayed: int = 0
    settled_after: int = 0
    unknown: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    resent: Counter[str] = field(default_factory=Counter)
    checks: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Books:
    credited: int = 0
    unknown: int = 0


# --- the phases -------------------------------------------------------------------------------

def settle(ports: list[int], work: wl.Credit, unknown: list[int], timeout: float,
           books: Books) -> int:
    """Resend requests whose answers were lost (same key) to any node that answers: the
    value they moved. What no node answers stays unknown (a failed check)."""
    moved = 0
    for n in unknown:
        for port in ports:
            try:
                found = work.settle(lg.resend(sup.LOOPBACK, port, work.request(n), timeout))
            except (OSError, lg.ConnectionClosed, lg.ProtocolError):
                continue
            if found is not None:
                moved += found
                break
        else:
            books.unknown += 1
    return moved


def throughput(cluster: Cluster, pooler: Pooler, nodes: int, token: str, ids: list[int],
               tag: str, args: argparse.Namespace, books: Books) -> Point:
    ports = [n.port for n in cluster.nodes[:nodes]]
    work = wl.Credit(f"{sup.LOOPBACK}:{ports[0]}", token, tuple(ids), f"{tag}-n{nodes}")
    before, t0 = snapshot(cluster, pooler, nodes), time.monotonic()
    out = lg.run(sup.LOOPBACK, ports, work, args.concurrency, args.warmup, args.seconds,
                 procs=nodes, timeout=args.timeout)
    after, wall = snapshot(cluster, pooler, nodes), time.monotonic() - t0
    books.credited += out.moved + settle(ports, work, out.unknown, args.timeout, books)
    return Point(nodes, out.rate, lg.percentile(out.latencies, 0.5) * 1000,
                 lg.percentile(out.latencies, 0.99) * 1000, out.ok, wall,
                 spent(before, after), out.cpu_s, out.errors)


def kill_phase(cluster: Cluster, token: str, ids: list[int], tag: str, url: str,
               args: argparse.Namespace, books: Books) -> Killed:
    """Three nodes, failing-over clients, node ``--kill-node`` SIGKILLed half-way."""
    nodes = cluster.nodes[:3]
    ports = [n.port for n in nodes]
    victim = nodes[args.kill_node - 1]
    run = f"{tag}-k"
    work = wl.Credit(f"{sup.LOOPBACK}:{ports[0]}", token, tuple(ids), run)
    res = Killed(victim=victim.number, writer_pid=victim.writer)
    marks: dict[str, float] = {}

    def kill() -> None:
        marks["kill"] = time.monotonic()
        os.kill(victim.proc.pid, signal.SIGKILL)  # the API process only: its writer lives on
        victim.proc.wait(10)
        deadline = time.monotonic() + 15
        while victim.writer and alive(victim.writer) and time.monotonic() < deadline:
            time.sleep(0.02)
        if victim.writer and not alive(victim.writer):
            marks["writer"] = time.monotonic()

    at = args.kill_seconds / 2
    out = fo.run(sup.LOOPBACK, ports, work, args.concurrency, args.kill_seconds,
                 grace=3 * args.timeout, timeout=args.timeout, during=kill, at=at)
    res.seconds = out.ended - out.started
    k = marks.get("kill", out.started + at)
    res.killed_at = k - out.started
    if "writer" in marks:
        res.writer_exit_s = marks["writer"] - k
    told = dict(out.told)
    # what no node answered during the phase: asked again now, of the nodes still up
    live = [n.port for n in nodes if n is not victim]
    for n in out.unknown:
        for port in live:
            try:
                resp = lg.resend(sup.LOOPBACK, port, work.request(n), args.timeout)
            except (OSError, lg.ConnectionClosed, lg.ProtocolError):
                continue
            if resp.status == 201:
                told[n] = fo.Told(fo.order_id(resp), nodes.index(next(
                    x for x in nodes if x.port == port)),
                    resp.headers.get("idempotent-replayed") == "true", 2, time.monotonic())
                res.settled_after += 1
                break
            if resp.status < 500:
                res.refused[str(resp.status)] += 1
                break
        else:
            res.unknown += 1
    res.told, res.refused, res.resent = len(told), res.refused + out.refused, out.resent
    res.retried = sum(1 for t in told.values() if t.sends > 1)
    res.retried_replayed = sum(1 for t in told.values() if t.sends > 1 and t.replayed)
    first_replayed = sum(1 for t in told.values() if t.sends == 1 and t.replayed)
    if first_replayed:
        res.checks.append(f"{first_replayed} fresh keys answered as replays")
    before_s, after_s = res.killed_at, max(res.seconds - res.killed_at, 1e-9)
    for i, node in enumerate(nodes):
        pre = sum(1 for t in told.values() if t.node == i and t.at < k)
        post = sum(1 for t in told.values() if t.node == i and t.at >= k)
        res.per_node[node.number] = (pre / before_s, post / after_s)
    res.before_rate = sum(v[0] for v in res.per_node.values())
    res.after_rate = sum(v[1] for v in res.per_node.values())
    survivors = [n.number for n in nodes if n is not victim]
    if any(res.per_node[s][1] == 0 for s in survivors):
        res.checks.append("a surviving node answered nothing after the kill")
    if res.writer_exit_s is None:
        res.checks.append(f"the killed node's writer process {victim.writer} did not exit")
    if res.unknown:
        res.checks.append(f"{res.unknown} top-ups' outcome unknown after retrying")
    res.checks += exactly_once(url, run, told, ids)
    books.credited += wl.AMOUNT * len(told)
    return res


def exactly_once(url: str, run: str, told: dict[int, fo.Told], ids: list[int]) -> list[str]:
    """Every 201 the clients got is one committed order under its own key; no other key of
    the phase committed anything."""
    problems = []
    with sup.pg_connect(url) as conn:
        rows = conn.execute("SELECT key, status_code, response FROM idempotency_keys "
                            "WHERE key LIKE %s", (f"bench-{run}-%",)).fetchall()
        stored = {key: (status, response) for key, status, response in rows}
        order_ids = [t.order_id for t in told.values()]
        found = conn.execute("SELECT count(*) FROM orders WHERE id = ANY(%s) AND "
                             "line_id = ANY(%s) AND method = 'manual'",
                             (order_ids, ids)).fetchone()
    committed = {k for k, (status, _) in stored.items() if status == 201}
    said = {f"bench-{run}-{n}": t for n, t in told.items()}
    if set(said) - committed:
        problems.append(f"{len(set(said) - committed)} top-ups told succeeded have no "
                        "committed key")
    if committed - set(said):
        problems.append(f"{len(committed - set(said))} keys committed that no client was "
                        "told about")
    wrong = [k for k, t in said.items() if k in stored and
             _body(stored[k][1]).get("id") != t.order_id]
    if wrong:
        problems.append(f"{len(wrong)} answers name another order than their key's")
    if len(set(order_ids)) != len(order_ids):
        problems.append(f"{len(order_ids) - len(set(order_ids))} orders named by two answers")
    if found is None or int(found[0]) != len(set(order_ids)):
        problems.append(f"{found[0] if found else 0} of {len(set(order_ids))} told orders "
                        "are in the database")
    return problems


def _body(raw: object) -> dict[str, object]:
    value = json.loads(raw) if isinstance(raw, str) else raw
    return value if isinstance(value, dict) else {}


def verify(env: dict[str, str], url: str, ids: list[int], books: Books) -> list[str]:
    """``topup ledger check`` exits 0, and the bench lines hold exactly what the answers said:
    one manual order per 201, the wallets AMOUNT x 201s."""
    problems = []
    done = sup.run_topup(env, "ledger", "check", timeout=300)
    if done.returncode != 0:
        problems.append(f"ledger check exit {done.returncode}: {done.stderr.strip()[-300:]}")
    if books.unknown:
        problems.append(f"{books.unknown} requests' outcome unknown even after resending")
    total = sup.wallet_total(url, ids)
    if total != books.credited:
        problems.append(f"wallets hold {total}, the answers credited {books.credited}")
    with sup.pg_connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM orders WHERE line_id = ANY(%s) "
                           "AND method = 'manual'", (ids,)).fetchone()
    if row is None or int(row[0]) * wl.AMOUNT != books.credited:
        problems.append(f"{row[0] if row else 0} manual orders on the bench lines, the "
                        f"answers told of {books.credited // wl.AMOUNT}")
    return problems


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Outcome:
    points: list[Point] = field(default_factory=list)
    pgbench: float | None = None
    pgbench_pooled: float | None = None
    killed: Killed | None = None
    checks: list[str] = field(default_factory=list)
    problems: Counter[str] = field(default_factory=Counter)
    shim: bool = False
    took: float = 0.0


def needs_shim() -> bool:
    """Whether the topup that runs knows TOPUP_DATABASE_POOLER (else: the sitecustomize)."""
    import topup.config

    return not hasattr(topup.config, "database_pooler")


def environment(folder: Path, pooled_url: str, shim: bool) -> dict[str, str]:
    env = os.environ | {"TOPUP_DATA_DIR": str(folder / "data"), "TOPUP_DATABASE_URL": pooled_url,
                        "TOPUP_DATABASE_POOLER": "transaction", "TOPUP_EMBEDDED_WORKER": "0",
                        "TOPUP_SECRET_KEY": secrets.token_hex(32)}
    env.pop("TOPUP_PUBLIC_URL", None)
    if shim:
        (folder / "shim").mkdir()
        (folder / "shim" / "sitecustomize.py").write_text(SHIM, encoding="utf-8")
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(folder / "shim"), os.environ.get("PYTHONPATH", "")) if p)
    return env


def run_all(args: argparse.Namespace, pg_url: str, res: Outcome) -> None:
    direct = sup.recreate_database(pg_url, SCALE_DB)
    try:
        with tempfile.TemporaryDirectory(prefix="topup-scale-") as tmp:
            folder = Path(tmp)
            res.shim = needs_shim()
            with pgbouncer(pg_url, SCALE_DB, args.pooler_port, args.pool_size,
                           folder / "pgbouncer.log") as pooler:
                env = environment(folder, pooler.url, res.shim)
                direct_env = env | {"TOPUP_DATABASE_URL": direct, "TOPUP_DATABASE_POOLER": ""}
                seeded = sup.run_topup(direct_env, "demo", timeout=300)  # migrations: directly
                if seeded.returncode != 0:
                    raise RuntimeError(f"topup demo failed: {seeded.stderr}")
                cluster = Cluster(env, folder, args.port_base)
                try:
                    measure(cluster, pooler, env, direct, args, res)
                except Exception:
                    for log in cluster.logs:  # what the processes said, before it is deleted
                        print(f"--- {log.name}\n{sup.tail(log, 40)}", file=sys.stderr)
                    raise
                finally:
                    cluster.stop()
                    res.problems = cluster.problems()
                    res.problems += Counter(
                        f"pgbouncer: {line}" for line in (folder / "pgbouncer.log").read_text(
                            errors="replace").splitlines() if " ERROR " in line or
                        " WARNING " in line)
    finally:
        sup.drop_database(pg_url, SCALE_DB)


def measure(cluster: Cluster, pooler: Pooler, env: dict[str, str], direct: str,
            args: argparse.Namespace, res: Outcome) -> None:
    for _ in range(args.workers):
        cluster.add_worker()
    first = cluster.add_node()
    token, ids, _ = setup(f"http://{sup.LOOPBACK}:{first.port}", args.lines)
    tag, books = uuid.uuid4().hex[:10], Books()
    for i, n in enumerate(args.nodes):
        while len(cluster.nodes) < n:
            cluster.add_node()
        point = throughput(cluster, pooler, n, token, ids, f"{tag}-{i}", args, books)
        res.points.append(point)
        print(table([point], None).splitlines()[-1], flush=True)
    if not args.no_kill:
        while len(cluster.nodes) < 3:
            cluster.add_node()
        res.killed = kill_phase(cluster, token, ids, tag, direct, args, books)
        print(kill_table(res.killed), flush=True)
    res.checks += verify(env | {"TOPUP_DATABASE_URL": direct, "TOPUP_DATABASE_POOLER": ""},
                         direct, ids, books)


def pgbench_runs(args: argparse.Namespace, pg_url: str, res: Outcome) -> None:
    """TPC-B, the bench's client count, directly and through a PgBouncer of the same kind."""
    seconds = max(1, round(args.seconds))
    res.pgbench = sup.pgbench_tps(pg_url, args.concurrency, seconds)
    with tempfile.TemporaryDirectory(prefix="topup-scale-pgbench-") as tmp, pgbouncer(
            pg_url, make_url(pg_url).database or "postgres", args.pooler_port, args.pool_size,
            Path(tmp) / "pgbouncer.log") as pooler:
        res.pgbench_pooled = pgbench_pooled(pg_url, pooler, args.concurrency, seconds)


def pgbench_pooled(pg_url: str, pooler: Pooler, clients: int, seconds: int) -> float:
    """pgbench through PgBouncer: the tables made directly, the run through the pooler."""
    db_url = make_url(sup.recreate_database(pg_url, "pgbench_bench"))
    env = os.environ | {"PGPASSWORD": db_url.password or ""}
    exe = sup.pgbench_exe()
    user = ["-U", str(db_url.username)]
    try:
        subprocess.run([exe, "-h", str(db_url.host), "-p", str(db_url.port or 5432), *user,
                        "-i", "-q", "-s", "10", "pgbench_bench"], env=env, capture_output=True,
                       text=True, timeout=600, check=True)
        done = subprocess.run([exe, "-h", sup.LOOPBACK, "-p", str(pooler.port), *user,
                               "-c", str(clients), "-j", "2", "-T", str(seconds),
                               "pgbench_bench"], env=env, capture_output=True, text=True,
                              timeout=seconds + 120, check=True)
    finally:
        sup.drop_database(pg_url, "pgbench_bench")
    for line in done.stdout.splitlines():
        if line.startswith("tps = "):
            return float(line.split()[2])
    raise RuntimeError(f"no tps in pgbench output:\n{done.stdout}\n{done.stderr}")


# --- the report -------------------------------------------------------------------------------

TABLE_HEAD = (
    "| API nodes | top-ups/s | × 1 node | p50 ms | p99 ms | API processes, % of a core "
    "| writer processes | workers | PgBouncer | PostgreSQL | load generator | all, % "
    "| CPU ms per top-up | errors |\n"
    "|---:|---:|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|")


def _each(values: list[float]) -> str:
    return " + ".join(f"{v:.0f}" for v in values) or "-"


def table(points: list[Point], pgbench: tuple[float | None, float | None] | None,
          clients: int = 0) -> str:
    rows = [TABLE_HEAD]
    base = points[0].rate if points and points[0].rate else None
    for p in points:
        total = p.total_s / p.wall * 100
        rows.append(
            f"| {p.nodes} | {p.rate:,.0f} | {p.rate / base if base else 0:.2f} "
            f"| {p.p50_ms:.1f} | {p.p99_ms:.1f} | {_each(p.cores('api'))} "
            f"| {_each(p.cores('writer'))} | {_each(p.cores('worker'))} "
            f"| {p.core('pgbouncer'):.0f} | {p.core('postgres'):.0f} "
            f"| {p.client_s / p.wall * 100:.0f} | {total:.0f} "
            f"| {p.total_s / max(p.ok, 1) * 1000:.2f} | {sum(p.errors.values())} |")
    if pgbench is not None:
        direct, pooled = pgbench
        for label, tps in (("directly", direct), ("through PgBouncer", pooled)):
            if tps is not None:
                rows.append(f"| pgbench TPC-B, {clients} clients, {label} | {tps:,.0f} tps "
                            "| - | - | - | - | - | - | - | - | - | - | - | - |")
    return "\n".join(rows)


def kill_table(k: Killed) -> str:
    nodes = sorted(k.per_node)
    head = ("| | " + " | ".join(f"node {n}{' (killed)' if n == k.victim else ''}"
                                for n in nodes) + " | all |")
    rows = [head, "|---|" + "---:|" * (len(nodes) + 1),
            "| top-ups/s before the kill | " + " | ".join(
                f"{k.per_node[n][0]:,.0f}" for n in nodes) + f" | {k.before_rate:,.0f} |",
            "| top-ups/s after the kill | " + " | ".join(
                f"{k.per_node[n][1]:,.0f}" for n in nodes) + f" | {k.after_rate:,.0f} |"]
    writer = (f"exited {k.writer_exit_s:.2f} s after its API process"
              if k.writer_exit_s is not None else "did NOT exit")
    facts = [
        f"- node {k.victim}'s API process killed with SIGKILL {k.killed_at:.1f} s into a "
        f"{k.seconds:.1f} s phase; its writer process (pid {k.writer_pid}) {writer}",
        f"- top-ups the clients were told succeeded: {k.told:,}; after more than one send: "
        f"{k.retried:,}, of which {k.retried_replayed:,} came back as replays (committed by "
        f"an earlier send, some by the killed node's writer before it exited); answered only "
        f"after the phase: {k.settled_after}; unknown: {k.unknown}",
        "- why requests were sent again: " + (", ".join(
            f"{n} × {why}" for why, n in k.resent.most_common()) or "never"),
        "- final answers other than 201: " + (", ".join(
            f"{n} × {s}" for s, n in k.refused.most_common()) or "none"),
        "- exactly once: " + ("every 201 is one committed order under its own key, no other "
                              "key of the phase committed anything"
                              if not k.checks else "FAILED: " + "; ".join(k.checks)),
    ]
    return "\n".join(rows) + "\n\n" + "\n".join(facts)


def notes(res: Outcome) -> str:
    out = [f"- check failed: {c}" for c in res.checks]
    for p in res.points:
        out += [f"- {p.nodes} node(s): client saw {n} × {what}"
                for what, n in p.errors.most_common()]
    out += [f"- log: {n} × `{line}`" for line, n in res.problems.most_common(8)]
    return "\n".join(out) or "- none: no errors, no failed checks, nothing in the logs"


def markdown(res: Outcome, args: argparse.Namespace, machine: sup.Machine) -> str:
    here = Path(__file__).resolve().parent.name
    note = f"*{args.note.strip()}*\n\n" if args.note.strip() else ""
    shim = ("The `topup` measured did not know `TOPUP_DATABASE_POOLER` yet, so the bench gave "
            "its processes a `sitecustomize` that starts psycopg with `prepare_threshold=None` "
            "(what that setting does). " if res.shim else "")
    nodes = ",".join(str(n) for n in args.nodes)
    kill = (kill_table(res.killed) if res.killed else "(no kill phase in this run)")
    ok = "clean" if not res.checks else "FAILED"
    return f"""## Scale-out: API nodes on one PostgreSQL behind PgBouncer

{note}What is measured: the top-ups of the section above (`POST /api/v1/admin/lines/{{id}}/credit`,
{wl.AMOUNT / 100:.2f} CNY, a fresh `Idempotency-Key` each, {args.lines} lines) with
{args.concurrency} keep-alive connections spread evenly over 1, 2, 3 `topup serve` nodes (one
API process each, plus the writer process each starts), {args.workers} `topup worker`
processes beside them, all reaching one PostgreSQL through Debian's PgBouncer
(transaction mode, `default_pool_size = {args.pool_size}`,
`TOPUP_DATABASE_POOLER=transaction`). {shim}*top-ups/s* counts the 201s of a
{args.seconds:g} s window after {args.warmup:g} s of warm-up. *% of a core*: utime + stime
from `/proc` over the phase (warm-up and drain included) divided by its wall time, per process
(`a + b + c` = nodes 1, 2, 3); *PostgreSQL*: its background processes and the backends of the
bench database; *all*: the sum, the load generator included (the machine has
{machine.cpus} cores = {machine.cpus * 100} %); *CPU ms per top-up*: all of it divided by the
201s. pgbench: TPC-B, scale 10, as many clients as connections, `-j 2`,
{max(1, round(args.seconds))} s, on the same server, directly and through a PgBouncer with
the same settings.

{table(res.points, (res.pgbench, res.pgbench_pooled), args.concurrency)}

A node killed under load ({args.concurrency} connections over 3 nodes for
{args.kill_seconds:g} s; clients that get no answer, or a 5xx, send the same request with the
same `Idempotency-Key` to the next node):

{kill}

`topup ledger check` at the end, and the bench lines' orders and wallets against every 201 of
every phase: **{ok}**.

{machine.describe()} Everything ran on this one machine, shared with other work (the load
average above), so the rows show where this machine saturates, not a cluster's capacity; the
whole run took {res.took:.0f} s.

Problems seen during the run:

{notes(res)}

Rerun (PostgreSQL from `scripts/postgres`; `topup_scale` and `pgbench_bench` are dropped
afterwards):

```
bash scripts/postgres
.venv/bin/python {here}/scale.py --seconds {args.seconds:g} --concurrency {args.concurrency} \\
    --nodes {nodes} --kill-seconds {args.kill_seconds:g} --out docs/benchmarks.md
```
"""


def node_list(text: str) -> list[int]:
    values = [int(v) for v in text.split(",") if v.strip()]
    if not values or any(v < 1 or v > 9 for v in values):
        raise argparse.ArgumentTypeError("node counts between 1 and 9")
    return values


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10, help="measured seconds per node count")
    p.add_argument("--warmup", type=float, default=2, help="warm-up seconds before measuring")
    p.add_argument("--concurrency", type=int, default=24, help="connections over all nodes")
    p.add_argument("--lines", type=int, default=64, help="lines to spread top-ups over")
    p.add_argument("--nodes", type=node_list, default=[1, 2, 3], help="API node counts")
    p.add_argument("--workers", type=int, default=2, help="topup worker processes")
    p.add_argument("--pool-size", type=int, default=20, help="PgBouncer server connections")
    p.add_argument("--kill-seconds", type=float, default=10, help="seconds of the kill phase")
    p.add_argument("--kill-node", type=int, default=2, choices=(1, 2, 3))
    p.add_argument("--no-kill", action="store_true", help="skip the kill phase")
    p.add_argument("--skip-pgbench", action="store_true")
    p.add_argument("--timeout", type=float, default=10, help="seconds per request")
    p.add_argument("--pg-url", default=None, help="admin URL (default: scripts/postgres's)")
    p.add_argument("--pooler-port", type=int, default=6433)
    p.add_argument("--port-base", type=int, default=18001, help="port of node 1; node i: +i-1")
    p.add_argument("--limit", type=int, default=1200, help="stop everything after this many s")
    p.add_argument("--out", type=Path, default=None, help="write the Markdown section here")
    p.add_argument("--note", default="", help="a caveat printed under the section's title")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.alarm(args.limit)
    pg_url = args.pg_url or DEFAULT_PG
    load_before = sup.load_average()
    started, res = time.monotonic(), Outcome()
    if not args.skip_pgbench:
        pgbench_runs(args, pg_url, res)
    run_all(args, pg_url, res)
    res.took = time.monotonic() - started
    machine = sup.machine(pg_url, load_before)
    print("\n" + table(res.points, (res.pgbench, res.pgbench_pooled), args.concurrency))
    print(f"\n{machine.describe()}\nProblems:\n{notes(res)}")
    if args.out:
        sup.write_section(args.out, markdown(res, args, machine))
        print(f"wrote {args.out}")
    return 0 if not res.checks and (res.killed is None or not res.killed.checks) else 1


if __name__ == "__main__":
    sup.run_main(main, "bench", (psycopg.Error,))
