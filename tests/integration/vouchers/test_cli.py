"""``topup vouchers`` as an operator uses it: generate a batch into printer files, activate,
block, check, sweep; refusals are one line on stderr and exit 1."""

from __future__ import annotations

import csv
from pathlib import Path
from subprocess import CompletedProcess

from tests.cli_support import in_data_dir

ADMIN = "ops@example.com"


def run(tmp_path: Path, *args: str) -> CompletedProcess[str]:
    """``topup *args`` on the SQLite data folder ``tmp_path/var``."""
    return in_data_dir(tmp_path, *args)


def test_generate_activate_block_and_check(tmp_path: Path) -> None:
    made = run(tmp_path, "admin", "create", ADMIN, "--password", "a-long-password")
    assert made.returncode == 0, made.stderr
    out = tmp_path / "print"
    r = run(tmp_path, "vouchers", "generate", "--out", str(out), "--as", ADMIN, "--count", "30",
            "--face", "20", "--currency", "CNY", "--expires", "2027-06-30", "--format",
            "csv,pdf", "--pdf-per-file", "10", "--label", "Night market")
    assert r.returncode == 0, r.stderr
    assert "batch 1: 30 cards 100000000000-100000000029, 20.00 CNY each" in r.stdout
    names = sorted(p.name for p in out.iterdir())
    stem = "voucher-batch-1-100000000000"
    assert names == [f"{stem}-001.pdf", f"{stem}-002.pdf", f"{stem}-003.pdf", f"{stem}.csv"]
    with (out / f"{stem}.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 30 and rows[0]["expires"] == "2027-06-30"
    first, last = rows[0]["serial"], rows[4]["serial"]
    assert "generated, 20.00 CNY" in run(tmp_path, "vouchers", "check", first).stdout
    refused = run(tmp_path, "vouchers", "activate", "1", "--as", ADMIN)
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: name the distributor the batch was sold to"
    ok = run(tmp_path, "vouchers", "activate", "1", "--distributor", "Night Market Co",
             "--as", ADMIN)
    assert ok.returncode == 0 and "sold to Night Market Co" in ok.stdout
    assert "active" in run(tmp_path, "vouchers", "check", first).stdout
    blocked = run(tmp_path, "vouchers", "block", "--first", first, "--last", last,
                  "--reason", "torn cards", "--as", ADMIN)
    assert blocked.returncode == 0 and "5 cards blocked" in blocked.stdout
    assert "blocked" in run(tmp_path, "vouchers", "check", last).stdout
    assert "batch 1 is frozen" in run(tmp_path, "vouchers", "block", "1", "--reason", "x",
                                      "--as", ADMIN).stdout
    assert "batch 1 is active" in run(tmp_path, "vouchers", "unblock", "1", "--reason", "y",
                                      "--as", ADMIN).stdout
    listing = run(tmp_path, "vouchers", "list").stdout
    assert "Night market" in listing and "Night Market Co" in listing
    again = run(tmp_path, "vouchers", "generate", "--out", str(tmp_path / "again"), "--as",
                ADMIN, "--batch", "1")
    assert again.returncode == 1 and len(again.stderr.strip().splitlines()) == 1
    assert "cannot be produced again" in again.stderr
    assert "expired 0 cards" in run(tmp_path, "vouchers", "sweep").stdout
    assert run(tmp_path, "ledger", "check").returncode == 0


def test_generate_refusals(tmp_path: Path) -> None:
    assert run(tmp_path, "admin", "create", ADMIN, "--password", "a-long-password"
               ).returncode == 0
    out = str(tmp_path / "print")
    nobody = run(tmp_path, "vouchers", "generate", "--out", out, "--as", "x@example.com",
                 "--count", "5", "--face", "10")
    assert nobody.returncode == 1 and "is not an admin login" in nobody.stderr
    both = run(tmp_path, "vouchers", "generate", "--out", out, "--as", ADMIN, "--count", "5")
    assert both.returncode == 1 and "give --face" in both.stderr
    bad = run(tmp_path, "vouchers", "generate", "--out", out, "--as", ADMIN, "--count", "5",
              "--face", "10.001")
    assert bad.returncode == 1 and "decimal places" in bad.stderr
    unknown = run(tmp_path, "vouchers", "check", "123")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: a serial number has")
