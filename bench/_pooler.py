"""Debian's PgBouncer in transaction mode for bench/scale.py: a temporary configuration on the
loopback in front of one PostgreSQL server, started and always stopped by the bench.

PgBouncer refuses to run as root; started by root it is told to drop to ``nobody`` (``-u``),
which then owns its temporary folder. Its log goes to a file in the bench's folder.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import _support as sup  # bench/ is a folder of scripts: run as a script, it is on sys.path
import psycopg
from sqlalchemy.engine import make_url

PGBOUNCER = "/usr/sbin/pgbouncer"


@dataclass(frozen=True)
class Pooler:
    """A running PgBouncer: its pid and the URL that reaches ``database`` through it."""

    pid: int
    port: int
    url: str


def executable() -> str:
    found = shutil.which("pgbouncer") or (PGBOUNCER if os.path.exists(PGBOUNCER) else None)
    if not found:
        raise SystemExit("bench: pgbouncer not found (apt-get install pgbouncer)")
    return found


def config(server_host: str, server_port: int, port: int, pool_size: int, userlist: Path) -> str:
    return f"""[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {userlist}
pool_mode = transaction
default_pool_size = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 2000
max_db_connections = {pool_size}
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
server_idle_timeout = 600
log_connections = 0
log_disconnections = 0
logfile =
pidfile =
"""


@contextmanager
def pgbouncer(pg_url: str, database: str, port: int, pool_size: int, log_path: Path,
              ready_timeout: float = 20) -> Iterator[Pooler]:
    """PgBouncer on ``127.0.0.1:port`` in transaction mode in front of ``pg_url``'s server,
    at most ``pool_size`` server connections per database; stopped when the block ends."""
    u = make_url(pg_url)
    folder = Path(tempfile.mkdtemp(prefix="topup-pgbouncer-"))
    userlist = folder / "userlist.txt"
    userlist.write_text(f'"{u.username}" "{u.password}"\n', encoding="utf-8")
    ini = folder / "pgbouncer.ini"
    ini.write_text(config(str(u.host), int(u.port or 5432), port, pool_size, userlist),
                   encoding="utf-8")
    cmd = [executable(), str(ini)]
    if os.geteuid() == 0:  # it will not run as root
        nobody = pwd.getpwnam("nobody")
        for path in (folder, userlist, ini):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        cmd[1:1] = ["-u", "nobody"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = u.set(port=port, database=database).render_as_string(hide_password=False)
    try:
        _wait_ready(proc, u.username, u.password, port, database, log_path, ready_timeout)
        yield Pooler(proc.pid, port, url)
    finally:
        sup.stop(proc, grace=10.0)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(proc: subprocess.Popen[bytes], user: str | None, password: str | None,
                port: int, database: str, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pgbouncer exited ({proc.returncode}):\n"
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        try:
            with psycopg.connect(host="127.0.0.1", port=port, user=user, password=password,
                                 dbname=database, connect_timeout=2,
                                 prepare_threshold=None) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            time.sleep(0.2)
    raise RuntimeError(f"pgbouncer not ready after {timeout:.0f} s:\n"
                       f"{log_path.read_text(errors='replace')[-2000:]}")

