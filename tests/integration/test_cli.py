"""The ``topup`` command as an operator uses it: imports, listings, logins, refusals."""

from __future__ import annotations

from pathlib import Path
from subprocess import CompletedProcess

from tests.cli_support import in_data_dir
from tests.factories import iccid


def run(tmp_path: Path, *args: str, stdin: str | None = None) -> CompletedProcess[str]:
    """``topup *args`` on the SQLite data folder ``tmp_path/var``."""
    return in_data_dir(tmp_path, *args, stdin=stdin)


def test_lines_import_then_bad_file_imports_nothing(tmp_path: Path) -> None:
    good = tmp_path / "lines.csv"
    rows = [f"{iccid()},card-{n:02d}-x7q,EUR,,,sim,,,FR" for n in range(30)]
    good.write_text("iccid,secret,currency,msisdn,imsi,kind,smdp_address,matching_id,"
                    "home_country\n" + "\n".join(rows) + "\n")
    r = run(tmp_path, "lines", "import", str(good))
    assert r.returncode == 0, r.stderr
    assert "imported 30 lines" in r.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("iccid,secret,currency\n" + f"{iccid()},card-99-x7q,EUR\n"
                   + "8986123,card-98-x7q,EUR\n")
    r = run(tmp_path, "lines", "import", str(bad))
    assert r.returncode == 1
    assert r.stderr.strip().startswith("error: row 3") and len(r.stderr.strip().splitlines()) == 1
    missing = run(tmp_path, "lines", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: no such file")


def test_plans_import_and_list(tmp_path: Path) -> None:
    assert run(tmp_path, "demo").returncode == 0
    csv = tmp_path / "plans.csv"
    csv.write_text("code,name_en,name_zh,zone,kind,data_mb,voice_min,sms,validity_days,"
                   "validity_start,priority,price_CNY,price_JPY\n"
                   "JP-3D-3GB,Japan 3 days 3 GB,日本 3天 3GB,JP,day,3072,,,3,purchase,100,"
                   "29.9,600\n")
    r = run(tmp_path, "plans", "import", str(csv))
    assert r.returncode == 0, r.stderr
    listing = run(tmp_path, "plans", "list", "--country", "JP")
    assert "JP-3D-3GB" in listing.stdout and "29.90 CNY" in listing.stdout
    assert "600 JPY" in listing.stdout


def test_admin_create_and_ledger_check(tmp_path: Path) -> None:
    r = run(tmp_path, "admin", "create", "ops@example.com", "--role", "admin",
            stdin="a-long-password\na-long-password\n")
    assert r.returncode == 0, r.stderr
    assert "created admin ops@example.com" in r.stdout
    again = run(tmp_path, "admin", "create", "ops@example.com", "--password", "another-pass1")
    assert again.returncode == 1 and "already registered" in again.stderr
    assert run(tmp_path, "ledger", "check").returncode == 0
    assert run(tmp_path, "db", "upgrade").returncode == 0
