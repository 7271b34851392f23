"""Helpers for bench/topups.py: servers, PostgreSQL scratch databases, pgbench, machine facts.

Everything here talks to 127.0.0.1 only and is bounded in time.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from glob import glob
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from sqlalchemy import bindparam, create_engine, func, select
from sqlalchemy.engine import URL, make_url
from stdnum import luhn

from topup.ledger.tables import accounts

LOOPBACK = "127.0.0.1"


# --- the topup CLI and its server -------------------------------------------------------------

def topup_exe() -> str:
    """The ``topup`` console script of the running virtualenv."""
    here = Path(sys.executable).parent / "topup"
    found = str(here) if here.exists() else shutil.which("topup")
    if not found:
        raise SystemExit("bench: cannot find the topup command; install the project first")
    return found


def topup_env(data_dir: Path, url: str) -> dict[str, str]:
    """The environment for topup commands on one backend; the server runs without its
    embedded worker, so the API path alone is measured."""
    return os.environ | {"TOPUP_DATA_DIR": str(data_dir), "TOPUP_DATABASE_URL": url,
                         "TOPUP_EMBEDDED_WORKER": "0"}


def run_topup(env: dict[str, str], *args: str, timeout: float = 300
              ) -> subprocess.CompletedProcess[str]:
    """Run ``topup <args>``, captured, bounded by ``timeout`` seconds."""
    return subprocess.run([topup_exe(), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def free_port() -> int:
    """A TCP port on the loopback that nobody listens on right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Served:
    """A running ``topup serve``: where it listens, and its process group (master, workers)."""

    base: str
    port: int
    pgrp: int


@contextmanager
def server(env: dict[str, str], workers: int, log_path: Path, ready_timeout: float = 60
           ) -> Iterator[Served]:
    """Run ``topup serve`` on a free loopback port in its own session; always stops it."""
    port = free_port()
    cmd = [topup_exe(), "serve", "--host", LOOPBACK, "--port", str(port),
           "--workers", str(workers)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://{LOOPBACK}:{port}"
    try:
        _wait_healthy(proc, base, log_path, ready_timeout)
        yield Served(base, port, proc.pid)
    finally:
        stop(proc)


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"topup serve exited ({proc.returncode}):\n{tail(log_path)}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"topup serve not healthy after {timeout:.0f} s:\n{tail(log_path)}")


def stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """Stop a server started by ``server`` (its process group: master, workers, writer), or
    any process started in a group of its own: SIGTERM, and SIGKILL after ``grace`` s."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


EXC_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Timeout|Warning)\b.*")


def log_problems(path: Path) -> Counter[str]:
    """Distinct exception lines and ERROR lines in a server log, with their counts."""
    found: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        if EXC_LINE.match(line) or line.startswith("ERROR"):
            found[line.strip()[:200]] += 1
    return found


def bench_iccid(n: int) -> str:
    """A valid 19-digit ICCID: ``89`` + issuer digits + serial + Luhn check digit."""
    body = f"8999{n:014d}"
    return body + luhn.calc_check_digit(body)


def wallet_total(url: str, line_ids: list[int]) -> int:
    """The sum of the posted balances of the wallets of ``line_ids``, read with SQL."""
    engine = create_engine(url)
    try:
        query = select(func.coalesce(func.sum(accounts.c.credits_posted
                                              - accounts.c.debits_posted), 0)).where(
            accounts.c.kind == "wallet", accounts.c.line_id.in_(bindparam("ids", expanding=True)))
        with engine.connect() as conn:
            return int(conn.execute(query, {"ids": line_ids}).scalar_one())
    finally:
        engine.dispose()


# --- PostgreSQL -------------------------------------------------------------------------------

def libpq(url: str | URL) -> str:
    """A libpq connection string for a SQLAlchemy URL."""
    u = make_url(url) if isinstance(url, str) else url
    return f"host={u.host} port={u.port or 5432} user={u.username} dbname={u.database}"


def pg_connect(url: str | URL) -> psycopg.Connection:
    u = make_url(url) if isinstance(url, str) else url
    return psycopg.connect(libpq(u), password=u.password, autocommit=True, connect_timeout=10)


def recreate_database(url: str, name: str) -> str:
    """Drop and create database ``name`` owned by the URL's role; returns its URL."""
    u = make_url(url)
    if u.host not in (LOOPBACK, "localhost"):
        raise SystemExit(f"bench: refusing a non-loopback PostgreSQL host {u.host!r}")
    drop_database(url, name)
    with pg_connect(u) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(str(u.username))))
    return u.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop ``name``; an autovacuum worker busy in it (after a bulk load) is a superuser process
    that WITH (FORCE) may not end for us, so wait for it a while."""
    for attempt in range(120):
        try:
            with pg_connect(url) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))
            return
        except psycopg.errors.InsufficientPrivilege:
            if attempt == 119:
                raise
            time.sleep(1)


def pg_version(url: str) -> str:
    with pg_connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def pgbench_exe() -> str:
    found = shutil.which("pgbench") or next(
        iter(sorted(glob("/usr/lib/postgresql/*/bin/pgbench"), reverse=True)), None)
    if not found:
        raise SystemExit("bench: pgbench not found (apt-get install postgresql-contrib)")
    return found


def pgbench_tps(url: str, concurrency: int, seconds: int, scale: int = 10) -> float:
    """TPC-B tps of ``pgbench`` on a fresh scratch database of the same server."""
    db_url = make_url(recreate_database(url, "pgbench_bench"))
    env = os.environ | {"PGPASSWORD": db_url.password or ""}
    conn = ["-h", str(db_url.host), "-p", str(db_url.port or 5432), "-U", str(db_url.username)]
    exe = pgbench_exe()
    try:
        subprocess.run([exe, *conn, "-i", "-q", "-s", str(scale), "pgbench_bench"], env=env,
                       capture_output=True, text=True, timeout=600, check=True)
        done = subprocess.run([exe, *conn, "-c", str(concurrency), "-j", "2", "-T", str(seconds),
                               "pgbench_bench"], env=env, capture_output=True, text=True,
                              timeout=seconds + 120, check=True)
    finally:
        drop_database(url, "pgbench_bench")
    found = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    if not found:
        raise RuntimeError(f"no tps in pgbench output:\n{done.stdout}\n{done.stderr}")
    return float(found.group(1))


# --- the machine ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Machine:
    cpus: int
    cpu_model: str
    postgres: str
    python: str
    date: str
    load_before: str

    def describe(self) -> str:
        return (f"Machine: {self.cpus} CPUs ({self.cpu_model}), PostgreSQL {self.postgres}, "
                f"Python {self.python}; load average before the run {self.load_before}; "
                f"taken {self.date}.")


def load_average() -> str:
    """The 1/5/15-minute load averages, as printed by uptime."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine(pg_url: str | None, load_before: str) -> Machine:
    """Facts about where the numbers were taken."""
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return Machine(cpus=len(os.sched_getaffinity(0)), cpu_model=model,
                   postgres=pg_version(pg_url) if pg_url else "not measured",
                   python=sys.version.split()[0],
                   date=time.strftime("%Y-%m-%d %H:%M %Z"), load_before=load_before)


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'topup.db'}"



# --- docs/benchmarks.md -----------------------------------------------------------------------

def write_section(path: Path, section: str) -> None:
    """Put ``section`` (starting ``## Title``) into the benchmarks page: replace the section of
    that title, or append it; the other benchmarks' sections stay as they were."""
    title = section.splitlines()[0]
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    parts = re.split(r"(?m)^(?=## )", text)
    body = section.rstrip() + "\n\n"
    for i, part in enumerate(parts):
        if part.splitlines()[:1] == [title]:
            parts[i] = body
            break
    else:
        parts.append(body)
    path.write_text("".join(parts).rstrip() + "\n", encoding="utf-8")


def run_main(main: Callable[[], int], name: str, errors: tuple[type[BaseException], ...]
             ) -> None:
    """Exit with ``main()``'s code; SIGTERM, SIGINT and SIGALRM (a ``--limit`` alarm) unwind
    like Ctrl-C, so every process the script started is stopped on the way out; ``errors``
    end it with one line on stderr."""
    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM):
        signal.signal(sig, interrupt)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
    except errors as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        sys.exit(1)
