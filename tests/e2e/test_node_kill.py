"""Two API nodes on one PostgreSQL, one killed with SIGKILL under load: nothing lost, nothing
doubled, the other node carries on.

Two real ``topup serve`` processes share a database of the test's own. Concurrent staff
credits (each with its own Idempotency-Key) go to both; after about a third were answered the
API process of node A — only it, as a crash of the interpreter would — is killed with SIGKILL.
A client that gets no answer (or a 5xx) sends the same request with the same key to node B,
as a load balancer's retry would. Then:

- node A's writer process, orphaned, notices within a second or so, commits what it had
  queued and exits (db/remote.py ``_orphaned``): no writer is left running without a server;
- every key got exactly one 201 naming an order of its own, and the database holds exactly
  those orders (a key committed by A's writer before it exited is answered by B as a replay);
- the wallet grew by the sum of the credits, ``topup ledger check`` exits 0;
- node B answered credits after the kill.

Loopback only, bounded (120 credits, 16 in flight; 20 s on a 2-core machine at load 8, the
nodes starting while the demo data is written); both nodes are killed in a ``finally``
whatever happens.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import pg_database
from tests.e2e.test_crash import cli, credit, facts
from tests.e2e.test_serve import TOPUP, free_port
from topup.demo.seed import ADMIN, LINES

KEYS, IN_FLIGHT, KILL_AFTER = 120, 16, 40
AMOUNT = 20_00  # key i credits AMOUNT + i (CNY minor units, inside the demo's limits)


class Node:
    """A ``topup serve`` in a session of its own, with the writer process it started."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [TOPUP, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--no-migrate"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        self.writer: int | None = None

    def wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.proc.poll() is None:
            with suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    self.writer = writer_of(self.proc.pid)
                    assert self.writer is not None, "topup serve started no writer process"
                    return
            time.sleep(0.1)
        raise AssertionError("topup serve did not come up")

    def stop(self) -> None:
        """SIGKILL whatever is left of its session (the API process, an orphaned writer)."""
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)


def writer_of(pid: int) -> int | None:
    """The child of ``pid`` running ``python -m topup.db.remote``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            argv = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid and b"topup.db.remote" in argv:
            return int(entry)
    return None


def running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


@contextmanager
def nodes(env: dict[str, str], count: int) -> Iterator[list[Node]]:
    started = [Node(env) for _ in range(count)]
    try:
        for node in started:
            node.wait_up()
        yield started
    finally:
        for node in started:
            node.stop()


class Clients:
    """Credits spread over the nodes; a request without an answer, or with a 5xx, is sent
    again with the same key to the next node."""

    def __init__(self, bases: list[str], token: str, line_id: int) -> None:
        self.clients = [httpx.Client(base_url=b, timeout=10, headers={
            "Authorization": f"Bearer {token}"}, limits=httpx.Limits(
                max_connections=IN_FLIGHT)) for b in bases]
        self.line_id = line_id
        self.lock = threading.Lock()
        self.answers: dict[str, tuple[int, dict[str, Any], bool]] = {}  # node, body, replayed
        self.resent = 0
        self.answered_enough = threading.Event()
        self.killed_at = 0.0
        self.after_kill: set[int] = set()

    def send(self, i: int) -> None:
        key, node = f"node-kill-{i}", i % len(self.clients)
        for _ in range(20):
            try:
                r = credit(self.clients[node], self.line_id, key, AMOUNT + i)
            except httpx.TransportError:
                r = None
            if r is None or r.status_code >= 500:
                with self.lock:
                    self.resent += 1
                node = (node + 1) % len(self.clients)
                time.sleep(0.05)
                continue
            assert r.status_code == 201, r.text
            with self.lock:
                replayed = r.headers.get("Idempotent-Replayed") == "true"
                self.answers[key] = (node, r.json(), replayed)
                if self.killed_at and time.monotonic() > self.killed_at:
                    self.after_kill.add(node)
                if len(self.answers) >= KILL_AFTER:
                    self.answered_enough.set()
            return
        raise AssertionError(f"{key}: no node answered")

    def close(self) -> None:
        for c in self.clients:
            c.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_a_node_killed_under_load_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with pg_database(f"topup_nodekill_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        env = os.environ | {"TOPUP_DATA_DIR": str(tmp_path / "var"), "TOPUP_DATABASE_URL": url,
                            "TOPUP_EMBEDDED_WORKER": "0", "TOPUP_ARGON2_MEMORY_KIB": "8192",
                            "TOPUP_ARGON2_TIME_COST": "1",
                            "TOPUP_SECRET_KEY": secrets.token_hex(32)}  # one for all nodes
        env.pop("TOPUP_PUBLIC_URL", None)
        migrated = cli(env, "db", "upgrade")
        assert migrated.returncode == 0, migrated.stderr
        # the demo data is written while the nodes start (they need the schema only)
        demo = subprocess.Popen([TOPUP, "demo"], env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        try:
            with nodes(env, 2) as (a, b):
                _, err = demo.communicate(timeout=60)
                assert demo.returncode == 0, err
                kill_one_under_load(a, b, env, url, tmp_path / "var")
        finally:
            if demo.poll() is None:
                demo.kill()
                demo.wait()


def kill_one_under_load(a: Node, b: Node, env: dict[str, str], url: str,
                        data_dir: Path) -> None:
    with httpx.Client(base_url=b.base, timeout=10) as c:
        token = c.post("/api/v1/auth/token", data={"username": ADMIN[0],
                                                   "password": ADMIN[1]}).json()["access_token"]
        found = c.get("/api/v1/admin/lines", params={"q": LINES[0].iccid},
                      headers={"Authorization": f"Bearer {token}"})
        line_id = int(found.json()[0]["id"])
    wallet0, _, orders0 = facts(url, data_dir, line_id)
    clients = Clients([a.base, b.base], token, line_id)
    try:
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            done = [pool.submit(clients.send, i) for i in range(KEYS)]
            assert clients.answered_enough.wait(30), "the burst never got its answers"
            clients.killed_at = time.monotonic()
            os.kill(a.proc.pid, signal.SIGKILL)  # the API process alone
            a.proc.wait(10)
            assert a.writer is not None
            deadline = time.monotonic() + 5
            while running(a.writer) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not running(a.writer), "node A's writer outlived its server by 5 s"
            for f in done:
                f.result(timeout=60)
    finally:
        clients.close()
    answers = clients.answers
    assert len(answers) == KEYS, "every key was answered by some node"
    assert clients.resent > 0 and 0 < len([k for k, v in answers.items() if v[0] == 0]) < KEYS, \
        "the kill came mid-burst: node A answered some, the rest were sent again"
    assert 1 in clients.after_kill, "node B carried on after the kill"
    order_ids = {body["id"] for _, body, _ in answers.values()}
    assert len(order_ids) == KEYS, "every key has exactly one order of its own"
    wallet, _, manual = facts(url, data_dir, line_id)
    assert manual == orders0 + KEYS, "no credit was lost or doubled"
    assert wallet == wallet0 + sum(AMOUNT + i for i in range(KEYS))
    with httpx.Client(base_url=b.base, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        again = credit(c, line_id, "node-kill-0", AMOUNT)  # node A's answer, replayed by B
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert again.json()["id"] == answers["node-kill-0"][1]["id"]
    check = cli(env, "ledger", "check")
    assert check.returncode == 0, check.stdout + check.stderr
