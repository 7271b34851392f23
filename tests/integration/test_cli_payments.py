"""``topup payments reconcile`` from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOPUP = str(Path(sys.executable).parent / "topup")


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    full = os.environ | {"TOPUP_DATA_DIR": str(tmp_path / "var")} | env
    full.pop("TOPUP_DATABASE_URL", None)
    return subprocess.run([TOPUP, *args], env=full, capture_output=True, text=True, timeout=120)


def test_reconcile_runs_and_refuses_unknown_providers(tmp_path: Path) -> None:
    ok = run(tmp_path, "payments", "reconcile")
    assert ok.returncode == 0 and "checked 0" in ok.stdout
    bad = run(tmp_path, "payments", "reconcile", TOPUP_PAYMENT_PROVIDERS="cash-in-a-sock")
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: unknown payment provider")
    assert len(bad.stderr.strip().splitlines()) == 1
