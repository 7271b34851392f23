"""Kill -9 in the middle of money: a real ``topup serve`` takes a burst of concurrent staff
credits (each with its own Idempotency-Key), is killed with SIGKILL after about a third were
answered, comes back, and every key that got no answer is sent again with the same key and
body. Then: no credit lost (every key has exactly one order), none doubled (the wallet grew by
the sum of the keys' amounts, the ledger by one credit's transfers per key), and
``topup ledger check`` exits 0 — on SQLite and on PostgreSQL (a database of the test's own).

Loopback only, bounded (300 requests, 16 in flight, well under a minute per backend); the
server is killed in a ``finally`` whatever happens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.conftest import pg_database
from tests.e2e.test_serve import TOPUP, free_port
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.demo.seed import ADMIN, LINES
from topup.ledger import service as ledger
from topup.orders.tables import orders

KEYS, IN_FLIGHT, KILL_AFTER = 300, 16, 100
WARM_UP = 20_00  # CNY 20.00, inside the demo's top-up limits; key i credits WARM_UP + i
DEMO_LINE = LINES[0]  # the demo's CNY line


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str | None]:
    """None for the data folder's SQLite file; else a fresh PostgreSQL database, dropped after."""
    if kind == "sqlite":
        yield None
        return
    with pg_database(f"topup_crash_{os.getpid()}_{uuid.uuid4().hex[:8]}") as url:
        yield url


class Server:
    """``topup serve`` processes on loopback, each in its own process group."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> str:
        port = free_port()
        self.proc = subprocess.Popen(
            [TOPUP, "serve", "--host", "127.0.0.1", "--port", str(port)], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return self.base
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                break
            threading.Event().wait(0.1)
        raise AssertionError("topup serve did not come up")

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no flush, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([TOPUP, *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


def credit(client: httpx.Client, line_id: int, key: str, amount: int) -> httpx.Response:
    return client.post(f"/api/v1/admin/lines/{line_id}/credit",
                       headers={"Idempotency-Key": key},
                       json={"amount": amount, "currency": "CNY", "reason": f"crash {key}",
                             "confirm_duplicate": True})


class Burst:
    """Concurrent credits; the first KILL_AFTER answers trip ``answered_enough``."""

    def __init__(self, client: httpx.Client, line_id: int) -> None:
        self.client, self.line_id = client, line_id
        self.answers: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.answered_enough = threading.Event()
        self.dead = threading.Event()

    def send(self, key: str, amount: int) -> None:
        if self.dead.is_set():
            return  # never sent: it is replayed like any unanswered key
        try:
            r = credit(self.client, self.line_id, key, amount)
        except httpx.TransportError:
            return
        if r.status_code >= 500:
            return  # an answer that is no answer: the client tries again later
        assert r.status_code in (200, 201), r.text
        with self.lock:
            self.answers[key] = r.json()
            if len(self.answers) >= KILL_AFTER:
                self.answered_enough.set()


def facts(url: str, data_dir: Path, line_id: int) -> tuple[int, int, int]:
    """The line's CNY wallet, the ledger's transfer count, the line's manual orders."""
    db = Database(make_engine(url), load_settings(data_dir=data_dir, database_url=url))
    try:
        with db.unit(readonly=True) as uow:
            found = ledger.wallets(uow, line_id).get("CNY")
            count = uow.conn.execute(select(func.count()).select_from(orders).where(
                orders.c.line_id == line_id, orders.c.method == "manual")).scalar_one()
            return (found.posted if found else 0), ledger.count_transfers(uow), int(count)
    finally:
        db.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_sigkill_mid_burst_loses_and_doubles_no_credit(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path) as pg:
        env = os.environ | {"TOPUP_DATA_DIR": str(tmp_path / "var"),
                            "TOPUP_EMBEDDED_WORKER": "0", "TOPUP_ARGON2_MEMORY_KIB": "8192",
                            "TOPUP_ARGON2_TIME_COST": "1"}
        env.pop("TOPUP_DATABASE_URL", None)
        if pg:
            env["TOPUP_DATABASE_URL"] = pg
        url = pg or f"sqlite:///{tmp_path / 'var' / 'topup.db'}"
        seeded = cli(env, "demo")
        assert seeded.returncode == 0, seeded.stderr
        server = Server(env)
        try:
            crash_and_replay(server, env, url, tmp_path / "var")
        finally:
            server.kill()


def crash_and_replay(server: Server, env: dict[str, str], url: str, data_dir: Path) -> None:
    base = server.start()
    with httpx.Client(base_url=base, timeout=10) as c:
        token = c.post("/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]})
        staff = {"Authorization": f"Bearer {token.json()['access_token']}"}
        c.headers.update(staff)
        found = c.get("/api/v1/admin/lines", params={"q": DEMO_LINE.iccid})
        line_id = int(found.json()[0]["id"])
        wallet0, transfers0, orders0 = facts(url, data_dir, line_id)
        warm = credit(c, line_id, "warm-up", WARM_UP)
        assert warm.status_code == 201, warm.text
    wallet1, transfers1, _ = facts(url, data_dir, line_id)
    assert wallet1 == wallet0 + WARM_UP
    per_credit = transfers1 - transfers0
    amounts = {f"crash-{i}": WARM_UP + i for i in range(KEYS)}
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    with httpx.Client(base_url=base, headers=staff, timeout=10, limits=limits) as c:
        burst = Burst(c, line_id)
        with ThreadPoolExecutor(IN_FLIGHT) as pool:
            for key, amount in amounts.items():
                pool.submit(burst.send, key, amount)
            assert burst.answered_enough.wait(30), "the burst never got its answers"
            server.kill()
            burst.dead.set()
    answered = dict(burst.answers)
    assert KILL_AFTER <= len(answered) < KEYS, "the kill came mid-burst"
    base = server.start()
    with httpx.Client(base_url=base, headers=staff, timeout=10) as c:
        for key, amount in amounts.items():
            if key not in answered:
                r = credit(c, line_id, key, amount)
                assert r.status_code in (200, 201), r.text
                answered[key] = r.json()
        for key in list(amounts)[:20]:  # a replay of an answered key changes nothing either
            again = credit(c, line_id, key, amounts[key])
            assert again.headers.get("Idempotent-Replayed") == "true"
            assert again.json()["id"] == answered[key]["id"]
    server.kill()
    order_ids = {a["id"] for a in answered.values()}
    assert len(order_ids) == KEYS, "every key has exactly one order of its own"
    assert all(a["state"] == "fulfilled" for a in answered.values())
    wallet, transfers, manual = facts(url, data_dir, line_id)
    assert manual == orders0 + 1 + KEYS, "no credit was lost or doubled"
    assert wallet == wallet1 + sum(amounts.values())
    assert transfers == transfers1 + per_credit * KEYS
    check = cli(env, "ledger", "check")
    assert check.returncode == 0, check.stdout + check.stderr
