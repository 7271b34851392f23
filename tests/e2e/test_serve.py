"""The contract, end to end: ``topup demo`` then ``topup serve`` as real processes on loopback,
driven over HTTP like the acceptance tests outside this repository do."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

TOPUP = str(Path(sys.executable).parent / "topup")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a fresh SQLite data folder (``tmp_path/var``)."""
    env = os.environ | {"TOPUP_DATA_DIR": str(tmp_path / "var")} | extra
    env.pop("TOPUP_DATABASE_URL", None)
    env.pop("TOPUP_PUBLIC_URL", None)
    return env


@contextmanager
def serving(env: dict[str, str]) -> Iterator[str]:
    """``topup serve`` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([TOPUP, "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            pytest.fail("topup serve did not come up")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``topup demo`` and ``topup serve`` on a fresh SQLite data folder (``tmp_path/var``)."""
    env = demo_env(tmp_path)
    demo = subprocess.run([TOPUP, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert demo.returncode == 0, demo.stderr
    again = subprocess.run([TOPUP, "demo"], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and again.stdout == demo.stdout, "demo is idempotent"
    with serving(env) as base:
        yield base, demo.stdout


def test_demo_and_serve_speak_the_contract(served: tuple[str, str]) -> None:
    base, printed = served
    assert "traveller@example.com" in printed and "admin@example.com" in printed
    assert "8966012345678901231" in printed, "demo lines are printed in full"
    c = httpx.Client(base_url=base, timeout=10)
    assert c.get("/openapi.json").json()["paths"]["/api/v1/orders"]["post"]
    assert c.get("/docs").status_code == 200
    r = c.post("/api/v1/auth/register", json={"email": "new@example.com",
                                               "password": "travel-far-away"})
    assert r.status_code == 201
    tok = c.post("/api/v1/auth/token", data={"username": "new@example.com",
                                             "password": "travel-far-away"}).json()
    assert tok["token_type"] == "bearer"
    me = {"Authorization": f"Bearer {tok['access_token']}"}
    plans = c.get("/api/v1/plans", params={"country": "TH"}).json()
    assert len(plans) >= 3
    r = c.post("/api/v1/lines/bind", headers=me,
               json={"identifier": "+66812345678", "secret": "2468"})
    assert r.status_code == 200, r.text
    line_id = r.json()["id"]
    assert c.get(f"/api/v1/lines/{line_id}", headers=me).json()["status"] == "provisioned"
    assert [x["id"] for x in c.get("/api/v1/lines", headers=me).json()] == [line_id]
    assert c.get("/healthz").json()["writer"] == "process", "serve starts the writer process"
    admin = c.post("/api/v1/auth/token", data={"username": "admin@example.com",
                                               "password": "demo-admin-pass"}).json()
    credited = c.post(f"/api/v1/admin/lines/{line_id}/credit", json={
        "amount": 500_00, "currency": "THB", "reason": "welcome"}, headers={
        "Authorization": f"Bearer {admin['access_token']}", "Idempotency-Key": "e2e-credit"})
    assert credited.status_code == 201, credited.text
    scraped = c.get("/metrics").text
    assert "topup_http_requests_total" in scraped
    assert "topup_writer_batches_total 1.0" in scraped, "the writer process's own count"
    bad = c.post("/api/v1/orders", headers=me, json={"line_id": line_id})
    assert bad.headers["content-type"].startswith("application/problem+json")


def test_serve_runs_the_worker_in_its_embedded_mode(served: tuple[str, str],
                                                   tmp_path: Path) -> None:
    base, _ = served
    c = httpx.Client(base_url=base, timeout=10)
    assert c.post("/api/v1/auth/password-reset",
                  json={"login": "traveller@example.com"}).status_code == 202
    db = sqlite3.connect(tmp_path / "var" / "topup.db")
    try:
        for _ in range(100):
            state = db.execute("SELECT state FROM notification_outbox WHERE template = "
                               "'password_reset' ORDER BY id DESC").fetchone()
            if state and state[0] == "sent":
                break
            time.sleep(0.1)
        assert state == ("sent",), "the console sender delivered the reset code"
        jobs = {j for (j,) in db.execute("SELECT job FROM job_runs")}
        assert {"auto_renew", "expire_buckets", "line_lifecycle", "charging_sessions"} <= jobs
    finally:
        db.close()


def test_payment_links_follow_the_port_served(served: tuple[str, str]) -> None:
    base, _ = served
    c = httpx.Client(base_url=base, timeout=10)
    tok = c.post("/api/v1/auth/token", data={"username": "traveller@example.com",
                                             "password": "demo-traveller-pass"}).json()
    me = {"Authorization": f"Bearer {tok['access_token']}"}
    line = c.get("/api/v1/lines", headers=me).json()[0]
    r = c.post("/api/v1/orders", headers=me | {"Idempotency-Key": "port-1"}, json={
        "line_id": line["id"], "kind": "topup", "amount": 123_00, "method": "sandbox"})
    assert r.status_code == 201, r.text
    assert r.json()["next_action"]["value"].startswith(f"{base}/sandbox/pay/")


def test_serve_limits_headers_and_bodies(served: tuple[str, str]) -> None:
    base, _ = served
    c = httpx.Client(base_url=base, timeout=10)
    assert c.get("/healthz", headers={"X-Pad": "a" * 8_000}).status_code == 200
    # A head past TOPUP_MAX_HEADER_BYTES (16 KiB): the app refuses it with a problem...
    r = c.get("/healthz", headers={"X-Pad": "a" * 20_000})
    assert (r.status_code, r.json()["code"]) == (431, "headers_too_large")
    # ...and one too big to arrive in one read never reaches the app (uvicorn stops reading).
    assert c.get("/healthz", headers={"X-Pad": "a" * 200_000}).status_code == 400
    r = c.post("/api/v1/auth/register", content=b"[" + b" " * (2 * 1024 * 1024) + b"]",
               headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["code"] == "request_too_large"


def test_serve_starts_the_diameter_server_when_configured(tmp_path: Path) -> None:
    """With TOPUP_DIAMETER_* set, ``topup serve`` runs ``topup diameter`` beside the API: a
    gateway charges a demo line over Gy after staff credited it over HTTP."""
    from diameter.message.avp.grouped import RequestedServiceUnit

    from tests.gy_support import OCS, OCS_REALM, PGW, PGW_REALM, Gateway

    gy_port = free_port()
    env = demo_env(tmp_path, TOPUP_DIAMETER_IDENTITY=OCS, TOPUP_DIAMETER_REALM=OCS_REALM,
                   TOPUP_DIAMETER_PEERS=f"{PGW}@{PGW_REALM}", TOPUP_DIAMETER_PORT=str(gy_port))
    assert subprocess.run([TOPUP, "demo"], env=env, capture_output=True,
                          timeout=120).returncode == 0
    with serving(env) as base:
        c = httpx.Client(base_url=base, timeout=10)
        admin = c.post("/api/v1/auth/token", data={"username": "admin@example.com",
                                                   "password": "demo-admin-pass"}).json()
        line = c.get("/api/v1/admin/lines", params={"q": "66812345678"}, headers={
            "Authorization": f"Bearer {admin['access_token']}"}).json()[0]
        credited = c.post(f"/api/v1/admin/lines/{line['id']}/credit", json={
            "amount": 500_00, "currency": "THB", "reason": "roaming"}, headers={
            "Authorization": f"Bearer {admin['access_token']}", "Idempotency-Key": "gy-e2e"})
        assert credited.status_code == 201, credited.text
        gateway = Gateway(gy_port)
        try:
            cca = gateway.ccr("pgw.gateway.test;serve;1", "I", 0, [{
                "rating_group": 1, "requested_service_unit":
                RequestedServiceUnit(cc_total_octets=1024**2)}], imsi=None, msisdn="66812345678")
            assert cca.result_code == 2001
            assert cca.multiple_services_credit_control[0].granted_service_unit \
                .cc_total_octets == 1024**2
        finally:
            gateway.stop()
        # the operator's check from where a gateway stands: a quota asked and given back
        probe = subprocess.run(
            [TOPUP, "diameter-probe", "--peer", f"{OCS}@{OCS_REALM}", "--connect",
             f"127.0.0.1:{gy_port}", "--identity", PGW, "--realm", PGW_REALM,
             "--msisdn", "66812345678"], env=env, capture_output=True, text=True, timeout=60)
        assert probe.returncode == 0, probe.stderr
        assert probe.stdout.splitlines() == [
            "CCR-I: 2001 (rating group 1: 2001, 10485760 octets for 600 s)",
            "CCR-T: 2001 (rating group 1: 2001)"]
        unknown = subprocess.run(
            [TOPUP, "diameter-probe", "--peer", f"{OCS}@{OCS_REALM}", "--connect",
             f"127.0.0.1:{gy_port}", "--identity", PGW, "--realm", PGW_REALM,
             "--imsi", "001010000000000"], env=env, capture_output=True, text=True, timeout=60)
        assert (unknown.returncode, unknown.stdout.strip()) == (1, "CCR-I: 5030")
        stranger = subprocess.run(
            [TOPUP, "diameter-probe", "--peer", f"{OCS}@{OCS_REALM}", "--connect",
             f"127.0.0.1:{gy_port}", "--identity", "probe.elsewhere", "--realm", "elsewhere",
             "--imsi", "001010000000000", "--seconds", "3"], env=env, capture_output=True,
            text=True, timeout=60)
        assert stranger.returncode != 0
        assert "no Diameter connection" in stranger.stderr.strip().splitlines()[-1]
