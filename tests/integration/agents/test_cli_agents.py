"""``topup agents`` as an operator uses it: a tier, a kiosk operator with staff, a funded float,
a terminal whose printed secret signs requests the API accepts, and a statement."""

from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.integration.agents.conftest import sign
from tests.integration.test_cli import run
from topup.channels.api.app import create_app
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database


def test_agents_from_the_command_line(tmp_path: Path) -> None:
    r = run(tmp_path, "admin", "create", "ops@example.com", "--password", "a-long-password")
    assert r.returncode == 0, r.stderr
    r = run(tmp_path, "agents", "tier", "std", "--name", "Standard", "--topup-bp", "200")
    assert r.returncode == 0 and "top-ups 200 bp" in r.stdout, r.stderr
    r = run(tmp_path, "agents", "create", "--name", "Airport Kiosks", "--kind",
            "kiosk_operator", "--tier", "std", "--country", "HK", "--currency", "HKD")
    assert r.returncode == 0, r.stderr
    agent_id = re.search(r"agent (\d+)", r.stdout).group(1)  # type: ignore[union-attr]
    r = run(tmp_path, "agents", "add-staff", agent_id, "till@example.com",
            "--password", "another-password")
    assert r.returncode == 0 and "till@example.com" in r.stdout, r.stderr
    fund = ("agents", "fund", agent_id, "1500.50", "--reference", "BANK-1", "--reason",
            "wire received", "--as", "ops@example.com")
    r = run(tmp_path, *fund)
    assert r.returncode == 0 and "funded 1500.50 HKD; float 1500.50 HKD" in r.stdout, r.stderr
    r = run(tmp_path, *fund)
    assert "already funded by this reference; float 1500.50 HKD" in r.stdout
    r = run(tmp_path, "agents", "fund", agent_id, "1.001", "--reference", "B2", "--reason",
            "x", "--as", "ops@example.com")
    assert r.returncode == 1 and r.stderr.startswith("error: HKD has 2 decimal places")
    r = run(tmp_path, "agents", "fund", "999", "10", "--reference", "B3", "--reason", "x",
            "--as", "ops@example.com")
    assert r.returncode == 1 and r.stderr.strip() == "error: no agent 999"
    r = run(tmp_path, "agents", "terminal", agent_id, "--label", "Hall B")
    assert r.returncode == 0, r.stderr
    key_id = re.search(r"key id: (\S+)", r.stdout).group(1)  # type: ignore[union-attr]
    secret = re.search(r"secret: (\S+)", r.stdout).group(1)  # type: ignore[union-attr]
    assert "cannot be shown again" in r.stderr
    me = signed_get(tmp_path, key_id, secret)
    assert me["agent_name"] == "Airport Kiosks" and me["float_balance"]["amount"] == 1500_50
    r = run(tmp_path, "agents", "statement", agent_id)
    assert r.returncode == 0, r.stderr
    assert "float funded (1)" in r.stdout and "1500.50 HKD" in r.stdout
    listing = run(tmp_path, "agents", "list")
    assert "Airport Kiosks" in listing.stdout and "1500.50 HKD" in listing.stdout
    assert run(tmp_path, "ledger", "check").returncode == 0


def signed_get(tmp_path: Path, key_id: str, secret: str) -> dict:
    """Ask the API on the CLI's database who the terminal is, signing like a terminal."""
    settings = load_settings(data_dir=tmp_path / "var")
    engine = make_engine(settings.database_url)
    try:
        client = TestClient(create_app(Database(engine, settings)))
        ts, nonce, target = int(time.time()), secrets.token_urlsafe(16), "/api/v1/terminal/me"
        r = client.get(target, headers={
            "X-Terminal-Key": key_id, "X-Timestamp": str(ts), "X-Nonce": nonce,
            "X-Signature": sign(secret, ts, nonce, "GET", target, b"")})
        assert r.status_code == 200, r.text
        return dict(json.loads(r.text))
    finally:
        engine.dispose()
