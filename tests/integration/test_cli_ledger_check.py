"""``topup ledger check`` through the real console script on a SQLite data directory: the demo
data balances; a corrupted cached balance, or an account whose kind is not in the chart of
accounts, is reported on stderr with exit status 1. ``topup ledger chart`` prints the chart."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

TOPUP = Path(sys.executable).parent / "topup"
WALLET_KEY = "line:1:wallet:money:CNY"  # the demo's bound CNY line, opened with 100.00 CNY


def topup(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPUP_")}
    env |= {
        "TOPUP_DATA_DIR": str(data_dir),
        "TOPUP_ARGON2_MEMORY_KIB": "8192",
        "TOPUP_ARGON2_TIME_COST": "1",
        "COLUMNS": "80",  # what a pipe or a cron job gets; do not inherit a wide terminal
    }
    return subprocess.run(
        [str(TOPUP), *args], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory after ``topup demo`` (run once for the module)."""
    assert TOPUP.exists(), f"console script not installed: {TOPUP}"
    data = tmp_path_factory.mktemp("demo")
    done = topup(data, "demo")
    assert done.returncode == 0, done.stderr
    return data


@pytest.fixture
def data_dir(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo data directory."""
    copy = tmp_path / "data"
    shutil.copytree(demo_dir, copy)
    return copy


def corrupt(data_dir: Path, sql: str, *params: object) -> None:
    """A raw write that bypasses the service (ledger_accounts has no immutability trigger)."""
    conn = sqlite3.connect(data_dir / "topup.db")
    try:
        with conn:
            assert conn.execute(sql, params).rowcount == 1
    finally:
        conn.close()


def account_id(data_dir: Path, key: str) -> int:
    conn = sqlite3.connect(data_dir / "topup.db")
    try:
        return int(conn.execute("SELECT id FROM ledger_accounts WHERE key = ?", (key,))
                   .fetchone()[0])
    finally:
        conn.close()


def test_ledger_check_passes_after_demo(data_dir: Path) -> None:
    done = topup(data_dir, "ledger", "check")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    # the demo's two transfers: the traveller's opening balance and the kiosk's float
    assert "the books balance: 2 transfers checked" in done.stdout


@pytest.mark.parametrize(
    ("column", "also"),
    [
        ("credits_posted", "unit does not sum to zero: money:CNY: posted 1, pending 0"),
        ("debits_pending", "unit does not sum to zero: money:CNY: posted 0, pending -1"),
    ],
)
def test_ledger_check_reports_a_corrupted_cached_balance(
    data_dir: Path, column: str, also: str
) -> None:
    corrupt(data_dir, f"UPDATE ledger_accounts SET {column} = {column} + 1 WHERE key = ?",  # noqa: S608
            WALLET_KEY)
    done = topup(data_dir, "ledger", "check")
    assert done.returncode == 1
    assert "the books balance" not in done.stdout
    lines = done.stderr.splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert errors == ["error: the books do not balance (2 problems)"], done.stderr
    assert lines[-1] == errors[0]
    # Each problem names what is wrong and where (joined: the console may wrap long lines).
    joined = " ".join(done.stderr.split())
    want = 10001 if column == "credits_posted" else 1
    derived = 10000 if column == "credits_posted" else 0
    wallet = account_id(data_dir, WALLET_KEY)
    assert (f"cached balance differs from transfers: account {wallet} ({WALLET_KEY}) {column}: "
            f"cached {want}, derived {derived}") in joined
    assert also in joined
    # Repaired by hand, the books balance again.
    corrupt(data_dir, f"UPDATE ledger_accounts SET {column} = {column} - 1 WHERE key = ?",  # noqa: S608
            WALLET_KEY)
    assert topup(data_dir, "ledger", "check").returncode == 0


def test_ledger_check_reports_a_balanced_but_wrong_pair_of_accounts(data_dir: Path) -> None:
    """Both sides bumped alike: every unit still sums to zero, yet the cache lies."""
    corrupt(data_dir, "UPDATE ledger_accounts SET credits_posted = credits_posted + 7 "
                      "WHERE key = ?", WALLET_KEY)
    corrupt(data_dir, "UPDATE ledger_accounts SET debits_posted = debits_posted + 7 "
                      "WHERE key = ?", "op:manual_credit:money:CNY:1")
    done = topup(data_dir, "ledger", "check")
    assert done.returncode == 1
    assert [x for x in done.stderr.splitlines() if x.startswith("error:")] == [
        "error: the books do not balance (2 problems)"]
    joined = " ".join(done.stderr.split())
    assert joined.count("cached balance differs from transfers") == 2
    assert "does not sum to zero" not in joined


def test_each_problem_is_reported_on_one_line(data_dir: Path) -> None:
    corrupt(data_dir, "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 "
                      "WHERE key = ?", WALLET_KEY)
    done = topup(data_dir, "ledger", "check")
    wallet = account_id(data_dir, WALLET_KEY)
    assert done.stderr.splitlines() == [
        f"cached balance differs from transfers: account {wallet} ({WALLET_KEY}) credits_posted: "
        "cached 10001, derived 10000",
        "unit does not sum to zero: money:CNY: posted 1, pending 0",
        "error: the books do not balance (2 problems)",
    ]


def test_ledger_check_on_an_empty_data_directory_fails_in_one_line(tmp_path: Path) -> None:
    done = topup(tmp_path / "empty", "ledger", "check")
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith("error:")


def test_ledger_check_reports_an_account_of_a_kind_outside_the_chart(data_dir: Path) -> None:
    corrupt(data_dir, "UPDATE ledger_accounts SET kind = 'mystery' WHERE key = ?",
            "op:manual_credit:money:CNY:1")
    done = topup(data_dir, "ledger", "check")
    assert done.returncode == 1
    acct = account_id(data_dir, "op:manual_credit:money:CNY:1")
    assert done.stderr.splitlines() == [
        f"account kind not in the chart: account {acct} (op:manual_credit:money:CNY:1): "
        "account kind 'mystery' is not in the chart of accounts (topup.ledger.accounts)",
        "error: the books do not balance (1 problems)",
    ]


def test_ledger_chart_prints_the_chart_of_accounts(tmp_path: Path) -> None:
    from topup.ledger.accounts import chart_table

    done = topup(tmp_path, "ledger", "chart")
    assert done.returncode == 0, done.stderr
    assert done.stdout == chart_table()
