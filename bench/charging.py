"""Online charging: reserve+commit operations per second, in-process and over Diameter Gy on
the loopback, beside a bare CCR/CCA echo server on the same Diameter stack (its ceiling).

Run: ``.venv/bin/python bench/charging.py [--seconds 8] [--threads 32] [--out docs/benchmarks.md]``.

For each backend (SQLite, PostgreSQL) a fresh database gets the demo catalogue and ``--lines``
lines holding money in Thailand. One operation is a session's CCR-U: the units granted last
time are reported used (committed: partial posts of the holds, a usage record) and the next
quota is held (pending transfers from the wallet at the out-of-bundle rate).
*in-process*: ``Charge`` commands for the database's group-committing writer, submitted as
the HTTP API submits them (``writer.run`` on an event loop), one session per line with one
request in flight each (``--sessions``). *Gy*: the same operations as CCR-U messages from a
gateway on python-diameter, in a process of its own with ``--threads`` requests in flight, to
``GyServer`` on 127.0.0.1: once with the writer thread in the server's process, once with a
writer process as ``topup serve`` runs it. *SQLite alone*: the writer's statements of an
in-process run recorded and replayed on a copy of the database (``_replay.py``): the
database's own pace for this work. *echo*: the same gateway against a node of the same
stack that answers every CCR at once (no database): what the stack itself allows. Checks:
every answer 2001, each line's wallet plus what its usage records charged equals what it was
given, ``check_books`` clean. With ``--out`` the section "Online charging" of that file is
replaced (or added).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import _replay as replay
import _support as sup  # bench/ is a folder of scripts: run as a script, it is on sys.path
from diameter.message import constants as C
from diameter.message.avp.grouped import (
    GrantedServiceUnit,
    RequestedServiceUnit,
    UsedServiceUnit,
)
from diameter.node import Node
from diameter.node.application import SimpleThreadingApplication
from sqlalchemy import func, select

import topup.handlers  # noqa: F401  (registers the event handlers every Database uses)
from topup.bootstrap import tune_process
from topup.channels.gy.gateway import Gateway
from topup.channels.gy.server import GyServer, Peer
from topup.charging.charges import Charge
from topup.charging.sessions import QUOTA, Ask
from topup.charging.tables import usage_records
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.migrate import upgrade
from topup.db.remote import WriterProcess
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.ledger.invariants import check_books
from topup.subscribers import lines as line_svc

DEFAULT_PG = "postgresql+psycopg://topup:topup@127.0.0.1:5432/topup"
SECTION = "## Online charging"
OCS, OCS_REALM, PGW, PGW_REALM = "ocs.bench.test", "bench.test", "pgw.bench.test", "gw.test"
MONEY = 1_000_000_00  # each bench line's wallet: far more than a run uses


@dataclass
class Phase:
    name: str
    ops: int = 0
    seconds: float = 0.0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


@dataclass
class Result:
    backend: str
    phases: list[Phase] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(db: Database, lines: int) -> list[line_svc.Line]:
    upgrade(db.engine)
    with db.unit() as uow:
        seed_catalog(uow)
    made = []
    for n in range(lines):
        with db.unit() as uow:
            line = line_svc.create_line(uow, line_svc.LineSpec(
                iccid=sup.bench_iccid(n + 1), secret="2468", currency="CNY",
                home_country="TH", kind="sim", msisdn=None, imsi=f"52001{n:010d}"))
            ledger.transfer(uow, f"bench:{line.id}", ledger.operator_account(
                uow, "manual_credit", "money:CNY", line_id=line.id),
                ledger.wallet(uow, line.id, "CNY"), MONEY, code="topup")
        made.append(line)
    return made


def drive(phase: Phase, threads: int, seconds: float, step: Any) -> None:
    """``threads`` threads call ``step(thread, i)`` until ``seconds`` pass."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def run(t: int) -> None:
        i, mine, lat, errs = 0, 0, [], 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            ok = step(t, i)
            lat.append(time.perf_counter() - started)
            mine += 1 if ok else 0
            errs += 0 if ok else 1
            i += 1
        with lock:
            phase.ops += mine
            phase.errors += errs
            phase.latencies.extend(lat)

    workers = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    phase.seconds = time.perf_counter() - began


def in_process(db: Database, lines: list[line_svc.Line], args: argparse.Namespace,
               tag: str = "p", on_go: Any = None) -> Phase:
    """Each of ``--sessions`` lines' sessions with one request in flight at a time, from one
    event loop, submitted as the HTTP API submits them (``writer.run``); ``on_go`` is called
    once every session is open, just before the clock starts."""
    phase = Phase("in-process")
    deadline = [float("inf")]  # set once every session is open
    opened = [0]

    async def session(line: line_svc.Line, go: asyncio.Event) -> tuple[int, int, list[float]]:
        ref, number, ok, errors, lat = f"{tag};{line.id}", 0, 0, 0, []
        first = await db.writer.run(Charge(ref, 0, "initial", (Ask(1, "data"),),
                                           line_id=line.id, country="TH"))
        errors += first.result != "success"
        opened[0] += 1
        await go.wait()
        while time.monotonic() < deadline[0]:
            number += 1
            began = time.perf_counter()
            answer = await db.writer.run(Charge(ref, number, "update",
                                                (Ask(1, "data", used=QUOTA["data"]),)))
            lat.append(time.perf_counter() - began)
            ok, errors = (ok + 1, errors) if answer.result == "success" else (ok, errors + 1)
        await db.writer.run(Charge(ref, number + 1, "terminate", (Ask(1, "data"),)))
        return ok, errors, lat

    async def main() -> None:
        go = asyncio.Event()
        tasks = [asyncio.create_task(session(line, go)) for line in lines[:args.sessions]]
        while opened[0] < len(tasks):
            await asyncio.sleep(0.05)
        if on_go is not None:
            on_go()
        began = time.perf_counter()
        deadline[0] = time.monotonic() + args.seconds
        go.set()
        done = await asyncio.gather(*tasks)
        phase.seconds = time.perf_counter() - began
        for ok, errors, lat in done:
            phase.ops += ok
            phase.errors += errors
            phase.latencies.extend(lat)

    asyncio.run(main())
    return phase


def over_gy(phase: Phase, port: int, lines: list[line_svc.Line], args: argparse.Namespace,
            tag: str) -> None:
    """The gateway in a process of its own, as a real one is: the server's process keeps its
    interpreter to itself."""
    per = max(1, len(lines) // args.threads)
    sessions = [(f"{PGW};{tag};{line.id}", str(line.imsi)) for line in lines[:per * args.threads]]
    ctx = multiprocessing.get_context("spawn")
    mine, theirs = ctx.Pipe()
    gateway = ctx.Process(target=run_gateway, args=(port, sessions, args.threads, args.seconds,
                                                    theirs))
    gateway.start()
    try:
        phase.ops, phase.errors, phase.seconds, phase.latencies = mine.recv()
    finally:
        gateway.join(60)


def ask(used: int | None) -> list[dict[str, Any]]:
    """Rating group 1: the default quota wanted, ``used`` octets used."""
    return [{"rating_group": 1, "requested_service_unit": RequestedServiceUnit(),
             "used_service_unit": UsedServiceUnit(cc_total_octets=used) if used else None}]


def run_gateway(port: int, sessions: list[tuple[str, str]], threads: int, seconds: float,
                out: Any) -> None:
    """A gateway's sessions: CCR-I each, then CCR-Us from ``threads`` threads for
    ``seconds``, then CCR-T each; sends back (ops, errors, seconds, latencies)."""
    phase = Phase("Gy")
    gateway = Gateway(identity=PGW, realm=PGW_REALM, peer=OCS, peer_realm=OCS_REALM, port=port)
    per = len(sessions) // threads
    numbers = dict.fromkeys((sid for sid, _ in sessions), 0)
    try:
        for sid, imsi in sessions:
            cca = gateway.ccr(sid, "I", 0, ask(None), imsi=imsi)
            phase.errors += cca.result_code != 2001

        def step(t: int, i: int) -> bool:
            sid, imsi = sessions[t * per + i % per]
            numbers[sid] += 1
            cca = gateway.ccr(sid, "U", numbers[sid], ask(QUOTA["data"]), imsi=imsi)
            return bool(cca.result_code == 2001)

        drive(phase, threads, seconds, step)
        for sid, imsi in sessions:
            gateway.ccr(sid, "T", numbers[sid] + 1, ask(None), imsi=imsi)
    finally:
        gateway.stop()
        out.send((phase.ops, phase.errors, phase.seconds, phase.latencies))


def echo_node(port: int) -> Node:
    """A node of the same stack answering every CCR at once with a grant."""
    node = Node(OCS, OCS_REALM, ip_addresses=["127.0.0.1"], tcp_port=port,
                vendor_ids=[C.VENDOR_TGPP])
    node.wakeup_interval = 1
    peer = node.add_peer(f"aaa://{PGW}", PGW_REALM)

    def answer(app: Any, req: Any) -> Any:
        ans = app.generate_answer(req, 2001)
        ans.cc_request_type = req.cc_request_type
        ans.cc_request_number = req.cc_request_number
        ans.add_multiple_services_credit_control(
            rating_group=1, result_code=2001, validity_time=600,
            granted_service_unit=GrantedServiceUnit(cc_total_octets=QUOTA["data"]))
        return ans

    app = SimpleThreadingApplication(C.APP_DIAMETER_CREDIT_CONTROL_APPLICATION,
                                     is_auth_application=True, request_handler=answer)
    node.add_application(app, [peer], realms=[OCS_REALM, PGW_REALM])
    node.start()
    return node


def check(db: Database, lines: list[line_svc.Line], res: Result) -> None:
    with db.unit(readonly=True) as uow:
        for line in lines:
            w = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
            charged = uow.conn.execute(select(func.coalesce(func.sum(
                usage_records.c.money_charged), 0)).where(
                usage_records.c.line_id == line.id)).scalar_one()
            if w.pending_debits or w.posted + int(charged) != MONEY:
                res.checks.append(f"line {line.id}: wallet {w.posted} held {w.pending_debits}"
                                  f" charged {charged}")
                break
        problems = check_books(uow.conn)
    res.checks.extend(f"books: {p}" for p in problems)


def run_backend(backend: str, url: str | None, args: argparse.Namespace) -> Result:
    res = Result(backend)
    with tempfile.TemporaryDirectory(prefix=f"topup-cbench-{backend}-") as tmp:
        data_dir = Path(tmp)
        url = url or sup.sqlite_url(data_dir)
        db = Database(make_engine(url), load_settings(data_dir=data_dir, database_url=url))
        try:
            everyone = prepare(db, max(args.lines, args.wide))
            lines = everyone[:args.lines]
            tune_process()  # what the processes keep is built: frozen, as they freeze theirs
            print(f"{backend}: {len(lines)} lines ready", flush=True)
            # SQLite: the plain writer and the pipelined ones (db/pipeline.py), taking turns
            modes: list[str | None] = ["off", *args.pipeline.split(",")] * args.rounds \
                if backend == "sqlite" else [None]
            for n, pipeline in enumerate(modes):
                res.phases.append(in_process_with(db, lines, args, pipeline, f"p{n}"))
                print(f"{backend}: {res.phases[-1].name} {res.phases[-1].rate:,.0f}/s",
                      flush=True)
            if backend == "sqlite" and args.wide:
                res.phases.append(wide(db, everyone, args))
                print(f"{backend}: {res.phases[-1].name} {res.phases[-1].rate:,.0f}/s",
                      flush=True)
            if args.in_process_only:
                check(db, everyone, res)
                return res
            if backend == "sqlite":
                res.phases.append(database_alone(db, url, data_dir, lines, args))
                print(f"{backend}: {res.phases[-1].name} {res.phases[-1].rate:,.0f}/s",
                      flush=True)
            for phase in (Phase("Gy, one process"), Phase("Gy + writer process")):
                gy_over(phase, db, url, data_dir, lines, args, remote="writer" in phase.name)
                res.phases.append(phase)
                print(f"{backend}: {phase.name} {phase.rate:,.0f}/s", flush=True)
            check(db, everyone, res)
        finally:
            db.dispose()
    return res


def in_process_with(db: Database, lines: list[line_svc.Line], args: argparse.Namespace,
                    pipeline: str | None, tag: str) -> Phase:
    """``in_process`` on a database of its own over the same engine, with
    ``TOPUP_WRITER_PIPELINE`` set to ``pipeline`` (None: as the settings say; PostgreSQL's
    writer is never pipelined)."""
    if pipeline is None:
        return in_process(db, lines, args, tag=tag)
    own = Database(db.engine, replace(db.settings, writer_pipeline=pipeline))
    try:
        phase = in_process(own, lines, args, tag=tag)
        st = own.local_writer.status()
    finally:
        own.close()
    if pipeline != "off" and st["commands"]:
        per = 1e6 / st["commands"]
        print(f"  pipelined: {st['pipelined']} of {st['batches']} batches as decided, "
              f"deciding {st['deciding_seconds'] * per:.0f} µs and writing "
              f"{st['writing_seconds'] * per:.0f} µs a request", flush=True)
    phase.name = NAMES[pipeline]
    return phase


def wide(db: Database, lines: list[line_svc.Line], args: argparse.Namespace) -> Phase:
    """The process-pipelined writer again with ``--wide`` sessions in flight and batches of
    half as many (``TOPUP_WRITER_MAX_BATCH``): one batch decided while the other is written,
    each twice the default's, so what every batch costs once (the COMMIT's sync, the hand
    over to the writing process) is shared by twice the requests."""
    own = Database(db.engine, replace(db.settings, writer_pipeline="process",
                                      writer_max_batch=max(1, args.wide // 2)))
    try:
        phase = in_process(own, lines[:args.wide],
                           argparse.Namespace(**{**vars(args), "sessions": args.wide}), tag="w")
    finally:
        own.close()
    phase.name = (f"in-process, pipelined writer (process), {args.wide:,} in flight, "
                  f"batches of {max(1, args.wide // 2):,}")
    return phase


NAMES = {"off": "in-process, plain writer", "thread": "in-process, pipelined writer (thread)",
         "process": "in-process, pipelined writer (process)"}


def database_alone(db: Database, url: str, data_dir: Path, lines: list[line_svc.Line],
                   args: argparse.Namespace) -> Phase:
    """The in-process run again, on an engine whose connections record what the writer
    thread sends SQLite (``_replay``), then those statements replayed on a copy of the
    database taken when the run began: how fast SQLite alone does the same work. Its count
    takes in the sessions' closing requests, which the replay runs too."""
    copy = data_dir / "before.db"
    recording = Database(make_engine(url, connect_args={"factory": replay.Recorder}),
                         replace(db.settings, writer_pipeline="off"))  # one thread records
    try:
        ran = in_process(recording, lines, args, tag="r",
                         on_go=lambda: replay.start(Path(url.removeprefix("sqlite:///")), copy))
    finally:
        steps = replay.stop()
        recording.dispose()
    phase = Phase("SQLite alone: the writer's statements replayed")
    phase.ops = ran.ops + min(args.sessions, len(lines))
    phase.seconds = replay.replay(copy, steps)
    return phase


def gy_over(phase: Phase, db: Database, url: str, data_dir: Path,
            lines: list[line_svc.Line], args: argparse.Namespace, *, remote: bool) -> None:
    """The Gy server, on the bench's database (its writer thread in the same process), or
    as ``topup serve`` runs it: handing its requests to a writer process of their own."""
    port = free_port()
    with ExitStack() as stack:
        served = db
        if remote:
            env = dict(os.environ, TOPUP_DATABASE_URL=url, TOPUP_DATA_DIR=str(data_dir))
            writer = stack.enter_context(WriterProcess(env))
            served = Database(db.engine, replace(db.settings, writer_socket=writer.socket))
        server = GyServer(served, identity=OCS, realm=OCS_REALM, host="127.0.0.1", port=port,
                          peers=[Peer(PGW, PGW_REALM)])
        server.start()
        stack.callback(server.stop)
        over_gy(phase, port, lines, args, "remote" if remote else "local")


def echo(args: argparse.Namespace) -> Phase:
    port = free_port()
    node = echo_node(port)
    fake = [line_svc.Line(id=n, iccid="", msisdn=None, imsi=f"52001{n:010d}", kind="sim",
                          smdp_address=None, matching_id=None, status="active",
                          customer_id=None, currency="CNY", home_country="TH",
                          auto_renew=False, valid_until=None) for n in range(args.lines)]
    phase = Phase("echo")
    try:
        over_gy(phase, port, fake, args, "echo")
    finally:
        node.stop(wait_timeout=5, force=True)
    return phase


def table(results: list[Result], ceiling: Phase, pgbench: float | None) -> str:
    rows = ["| backend | path | reserve+commit/s | p50 ms | p99 ms | errors | checks |",
            "|---|---|---:|---:|---:|---:|---|"]
    for r in results:
        for p in r.phases:
            p50, p99 = (f"{p.pct(0.5):.1f}", f"{p.pct(0.99):.1f}") if p.latencies else ("-", "-")
            rows.append(f"| {r.backend} | {p.name} | {p.rate:,.0f} | {p50} | {p99} | {p.errors} | "
                        f"{'ok' if not r.checks else 'FAILED'} |")
    if ceiling.ops:
        rows.append(f"| (no database) | echo: the Diameter stack alone | {ceiling.rate:,.0f} | "
                    f"{ceiling.pct(0.5):.1f} | {ceiling.pct(0.99):.1f} | {ceiling.errors} | - |")
    if pgbench is not None:
        rows.append(f"| postgresql | pgbench TPC-B, 32 clients: the database's own pace | "
                    f"{pgbench:,.0f} tps | - | - | - | - |")
    return "\n".join(rows)


def split(results: list[Result]) -> str:
    """Where an in-process operation's time goes on SQLite: the database's own work (the
    replay) and the rest, the writer thread's Python."""
    rates: dict[str, list[float]] = {}
    for r in results:
        for p in r.phases:
            if r.backend == "sqlite":
                rates.setdefault(p.name.split(":")[0], []).append(p.rate)
    plain = rates.get(NAMES["off"])
    alone = rates.get("SQLite alone")
    if not plain or not alone:
        return ""
    whole, db = 1e6 / (sum(plain) / len(plain)), 1e6 / alone[0]
    out = (f"Per operation on SQLite in this run: {whole:.0f} µs in-process with the plain "
           f"writer, of which {db:.0f} µs are the database's own work (the replay) and the "
           f"other {max(whole - db, 0):.0f} µs the writer thread's Python (reading rows into "
           "objects, rating, building rows and answers): both on the one writer thread, one "
           "after the other, so the plain rate is bounded by their sum.")
    for mode in ("thread", "process"):
        piped = rates.get(NAMES[mode])
        if piped:
            out += (f" The pipelined writer, its batches written by a {mode} of their own "
                    "while the next is decided (`db/pipeline.py`): "
                    f"{sum(piped) / len(piped):,.0f}/s on average over its rounds, against "
                    f"{sum(plain) / len(plain):,.0f}/s plain, taking turns in the same run.")
    return out


def wide_text(args: argparse.Namespace) -> str:
    if not args.wide:
        return ""
    return (f" Then, last, the process once more with {args.wide:,} sessions in flight and "
            f"batches of up to {max(1, args.wide // 2):,} (`TOPUP_WRITER_MAX_BATCH`; the "
            "default 256 makes two batches of the 512 sessions above, one decided while the "
            "other is written): each batch's fixed costs (its COMMIT's sync, the hand over "
            "to the writing process) shared by twice the requests, at the price of twice the "
            "wait.")


def section(tbl: str, facts: sup.Machine, results: list[Result], args: argparse.Namespace
            ) -> str:
    problems = "\n".join(f"- {r.backend}: {c}" for r in results for c in r.checks) or \
        "- none: every check passed"
    return f"""{SECTION}

What is measured: one operation is a charging session's update (a CCR-U): the 10 MiB granted
last time reported used (committed from the wallet's hold at Thailand's out-of-bundle rate,
with a usage record) and the next 10 MiB held, for {args.lines} lines with money.
*in-process*: `Charge` commands for the database's group-committing writer, submitted as the
HTTP API submits them, one session per line and one request in flight each ({args.sessions}
in flight), {args.seconds:g} s; the writer answers the requests waiting when a batch starts
together (`charging/charges.py`). On SQLite the in-process run is made with the plain writer
and with the pipelined one (`TOPUP_WRITER_PIPELINE`: a batch decided while the one before is
written by a second thread, or by a process), taking turns, {args.rounds} times each: on a
shared machine, compare rows of one run only.{wide_text(args)}
*Gy*: the same as CCR-U messages from a gateway on python-diameter in a process of its own,
{args.threads} in flight, to `GyServer` on 127.0.0.1:
with the writer thread in the server's own process, and with a writer process as `topup
serve` runs it. *echo*: the same gateway against a node of the same stack answering each CCR
at once without a database: the stack's own ceiling. *checks*: every answer a success, each
line's wallet plus what its usage charged equals what it was given, nothing left held, the
books balanced.

{tbl}

{facts.describe()}

Problems seen during the run:

{problems}

Rerun:

```
.venv/bin/python bench/charging.py --seconds {args.seconds:g} --threads {args.threads} \\
    --lines {args.lines} --rounds {args.rounds} --out docs/benchmarks.md
```

*SQLite alone*: the in-process run again, every statement the writer thread sent SQLite
recorded (reads, multi-row writes, savepoints, commits), then replayed on a copy of the
database as it was when the run began, in one thread with nothing else running, with the
writer's pragmas (WAL checkpoints left to their own thread, as `db/checkpoint.py` does for the
writer) (`bench/_replay.py`): what the database itself needs for the same rows, without the
Python that decided them — two ledger transfers, a grant, a hold, a usage record and the
stored answer written, the session, the closed grant and the accounts' totals changed, each
with its indexes, foreign keys and CHECKs, and a COMMIT (fsync) per batch. {split(results)}
Over Gy, the gateway and the Diameter stack's threads decide the pace: the more requests in
flight, the closer to the echo's rate, and the longer each waits.
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8)
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--lines", type=int, default=512)
    p.add_argument("--sessions", type=int, default=512)
    p.add_argument("--wide", type=int, default=1024,
                   help="on SQLite, the process-pipelined writer once more with this many "
                        "sessions in flight and batches of half as many (0: not run)")
    p.add_argument("--pg-url", default=DEFAULT_PG)
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--rounds", type=int, default=2,
                   help="SQLite in-process: runs of the plain and the pipelined writer, taking "
                        "turns")
    p.add_argument("--pipeline", default="thread,process",
                   help="the pipelined writers to run beside the plain one: thread, process "
                        "or both (comma-separated)")
    p.add_argument("--in-process-only", action="store_true",
                   help="only the in-process runs (no Gy, no echo, no pgbench)")
    args = p.parse_args()
    tune_process()  # as the API's, the writer's and topup diameter's processes do
    load = sup.load_average()
    ceiling = Phase("echo") if args.in_process_only else echo(args)
    if ceiling.ops:
        print(f"echo: {ceiling.rate:,.0f}/s", flush=True)
    results = [run_backend("sqlite", None, args)]
    if not args.skip_postgres:
        url = sup.recreate_database(args.pg_url, "charging_bench")
        try:
            results.append(run_backend("postgresql", url, args))
        finally:
            sup.drop_database(args.pg_url, "charging_bench")
    pgbench = None if args.skip_postgres or args.in_process_only else sup.pgbench_tps(
        args.pg_url, 32, 8)
    tbl = table(results, ceiling, pgbench)
    print(tbl)
    if args.out:
        facts = sup.machine(None if args.skip_postgres else args.pg_url, load)
        sup.write_section(args.out, section(tbl, facts, results, args))
        print(f"wrote {args.out}")
    return 1 if any(r.checks for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
