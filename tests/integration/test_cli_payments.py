"""``topup payments reconcile`` from the command line."""

from __future__ import annotations

from pathlib import Path
from subprocess import CompletedProcess

from tests.cli_support import in_data_dir


def run(tmp_path: Path, *args: str, **env: str) -> CompletedProcess[str]:
    """``topup *args`` on the SQLite data folder ``tmp_path/var``, with ``env`` set."""
    return in_data_dir(tmp_path, *args, **env)


def test_reconcile_runs_and_refuses_unknown_providers(tmp_path: Path) -> None:
    ok = run(tmp_path, "payments", "reconcile")
    assert ok.returncode == 0 and "checked 0" in ok.stdout
    bad = run(tmp_path, "payments", "reconcile", TOPUP_PAYMENT_PROVIDERS="cash-in-a-sock")
    assert bad.returncode == 1
    assert bad.stderr.strip().startswith("error: unknown payment provider")
    assert len(bad.stderr.strip().splitlines()) == 1
