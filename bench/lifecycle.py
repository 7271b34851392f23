"""The line-lifecycle sweep over a million lines, on SQLite and PostgreSQL, beside the same
status changes done by bare UPDATE statements on the same database.

Run: ``.venv/bin/python bench/lifecycle.py [--lines 1000000] [--out docs/benchmarks.md]``.
Each backend gets a fresh, migrated database filled in bulk: 60 % active lines holding nothing
(they go to grace), 20 % active lines with money in a wallet (they stay), 10 % in grace for
longer than the grace period (suspended) and 10 % suspended for longer than the suspension
period (terminated). First the three moves run as bare ``UPDATE … WHERE status = … AND …``
statements inside a transaction that is rolled back (the database's own speed for the same
change, without events or batching); then ``topup.jobs.lifecycle.advance_lines`` runs for real:
batched, one event row per move, skipping rows another sweeper holds. Afterwards every line
must be where it belongs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _support as sup  # bench/ is a folder of scripts: run as a script, it is on sys.path
from sqlalchemy import func, insert, select, text

import topup.handlers  # noqa: F401  (registers the event handlers every Database uses)
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.migrate import upgrade
from topup.db.uow import Database
from topup.jobs.lifecycle import advance_lines
from topup.ledger.tables import accounts
from topup.subscribers.tables import lines

DEFAULT_PG = "postgresql+psycopg://topup:topup@127.0.0.1:5432/topup"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CHUNK = 20_000


@dataclass
class Result:
    backend: str
    lines: int
    fill_s: float
    baseline_s: float
    sweep_s: float
    moved: dict[str, int]
    ok: bool


KINDS = ["empty"] * 6 + ["money"] * 2 + ["grace", "suspended"]


def fill(db: Database, n: int) -> None:
    """n lines in bulk (and a wallet for the ones with money), in chunks of CHUNK rows."""
    long_ago = NOW - timedelta(days=60)
    with db.engine.begin() as conn:
        for start in range(0, n, CHUNK):
            rows, wallets = [], []
            for i in range(start, min(n, start + CHUNK)):
                kind = KINDS[i % 10]
                status = {"empty": "active", "money": "active"}.get(kind, kind)
                rows.append({"id": i + 1, "iccid": sup.bench_iccid(i), "kind": "sim",
                             "secret_hash": "x" * 64, "status": status, "currency": "CNY",
                             "auto_renew": False, "created_at": long_ago,
                             "status_changed_at": long_ago})
                if kind == "money":
                    wallets.append({"key": f"line:{i + 1}:wallet:money:CNY",
                                    "unit": "money:CNY", "kind": "wallet", "line_id": i + 1,
                                    "no_overdraft": True, "debits_posted": 0,
                                    "credits_posted": 10_00, "debits_pending": 0,
                                    "credits_pending": 0, "created_at": long_ago})
            conn.execute(insert(lines), rows)
            if wallets:
                conn.execute(insert(accounts), wallets)
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))


def baseline(db: Database) -> float:
    """The three moves as bare UPDATEs, timed, then rolled back."""
    settings = db.settings
    statements = [
        "UPDATE lines SET status = 'terminated', status_changed_at = :now "
        "WHERE status = 'suspended' AND status_changed_at <= :cut_s",
        "UPDATE lines SET status = 'suspended', status_changed_at = :now "
        "WHERE status = 'grace' AND status_changed_at <= :cut_g",
        "UPDATE lines SET status = 'grace', status_changed_at = :now WHERE status = 'active' "
        "AND id NOT IN (SELECT line_id FROM buckets WHERE state = 'active' AND "
        "(expires_at IS NULL OR expires_at > :now)) AND id NOT IN (SELECT line_id FROM "
        "ledger_accounts WHERE kind = 'wallet' AND "
        "credits_posted - debits_posted - debits_pending > 0)",
    ]
    params = {"now": NOW, "cut_g": NOW - timedelta(days=settings.grace_days),
              "cut_s": NOW - timedelta(days=settings.suspended_days)}
    with db.engine.connect() as conn:
        began = time.perf_counter()
        for statement in statements:
            conn.execute(text(statement), params)
        took = time.perf_counter() - began
        conn.rollback()
    return took


def verify(db: Database, n: int, moved: dict[str, int]) -> bool:
    """Every line where its kind says, and the sweep's counts agree."""
    with db.engine.connect() as conn:
        counts: dict[str, int] = dict(conn.execute(select(lines.c.status, func.count()).group_by(
            lines.c.status)).all())
    kinds = Counter(KINDS[i % 10] for i in range(n))
    expect = {"grace": kinds["empty"], "active": kinds["money"],
              "suspended": kinds["grace"], "terminated": kinds["suspended"]}
    return {k: v for k, v in counts.items() if v} == {k: v for k, v in expect.items() if v} \
        and moved == {k: expect[k] for k in ("grace", "suspended", "terminated")}


def run_backend(backend: str, url: str, n: int, batch: int) -> Result:
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine, load_settings(database_url=url, secret_key="bench"),
                  FrozenClock(NOW))
    began = time.perf_counter()
    fill(db, n)
    filled = time.perf_counter() - began
    base = baseline(db)
    began = time.perf_counter()
    moved = advance_lines(db, batch=batch)
    swept = time.perf_counter() - began
    ok = verify(db, n, moved)
    engine.dispose()
    return Result(backend, n, filled, base, swept, moved, ok)


def table(results: list[Result]) -> str:
    head = ("| backend | lines | fill s | bare UPDATEs s | sweep s | lines moved | moved/s | "
            "sweep / bare | checks |\n|---|---:|---:|---:|---:|---:|---:|---:|---|")
    rows = []
    for r in results:
        total = sum(r.moved.values())
        rows.append(f"| {r.backend} | {r.lines:,} | {r.fill_s:.1f} | {r.baseline_s:.1f} | "
                    f"{r.sweep_s:.1f} | {total:,} | {total / r.sweep_s:,.0f} | "
                    f"{r.sweep_s / r.baseline_s:.1f}x | {'ok' if r.ok else 'FAILED'} |")
    return "\n".join([head, *rows])


def document(tbl: str, facts: sup.Machine, args: argparse.Namespace) -> str:
    return f"""## The line-lifecycle sweep over {args.lines:,} lines

What is measured: `advance_lines` (the `line_lifecycle` job of `topup worker`) over a database
of {args.lines:,} lines: 60 % active with nothing left (to grace), 20 % active with money in a
wallet (they stay), 10 % in grace past the grace period (to suspended), 10 % suspended past
the suspension period (to terminated). The sweep works in batches of {args.batch:,} lines,
one unit of work each (one `UPDATE` that takes the next due lines after the last one moved),
writing one `line_events` row per move. *bare UPDATEs* is the same
change as three plain `UPDATE … WHERE` statements in one transaction (rolled back), without
events or batching: what the database itself needs. *checks*: afterwards every line is where
it belongs.

{tbl}

{facts.describe()}

Rerun:

```
bash scripts/postgres
.venv/bin/python bench/lifecycle.py --lines {args.lines} --out docs/benchmarks.md
```
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1_000_000)
    p.add_argument("--batch", type=int, default=5000)
    p.add_argument("--pg-url", default=None)
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    load_before = sup.load_average()
    results = []
    with tempfile.TemporaryDirectory(prefix="topup-bench-") as tmp:
        results.append(run_backend("sqlite", sup.sqlite_url(Path(tmp)), args.lines, args.batch))
        print(table(results), flush=True)
    pg_url = None if args.skip_postgres else (args.pg_url or DEFAULT_PG)
    if pg_url:
        url = sup.recreate_database(pg_url, "topup_bench_lifecycle")
        try:
            results.append(run_backend("postgresql", url, args.lines, args.batch))
        finally:
            sup.drop_database(pg_url, "topup_bench_lifecycle")
    tbl, facts = table(results), sup.machine(pg_url, load_before)
    print(f"\n{tbl}\n\n{facts.describe()}")
    if args.out:
        sup.write_section(args.out, document(tbl, facts, args))
        print(f"wrote {args.out}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
