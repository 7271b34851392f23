"""Usage records per second on SQLite, in process: one record per transaction through
``record_usage`` (the path every report took before) against batches through ``USAGE.apply``
and through the database's writer, in the same run.

    .venv/bin/python bench/usage_batches.py [--records 3000] [--lines 200] [--batch 64]

Each line holds a Thailand plan and money; records draw from the plan, some past it into
the wallet. Durability as in production (WAL, synchronous=FULL); ``ledger check`` after.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from stdnum import luhn

import topup.handlers  # noqa: F401  (registers the event handlers every Database uses)
from topup.catalog import service as catalog
from topup.charging.batch import USAGE, Usage
from topup.charging.buckets import issue_bucket
from topup.charging.service import record_usage
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.migrate import upgrade
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.ledger.invariants import check_books
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import find_line

MIB = 1024**2


def _iccid(n: int) -> str:
    base = f"8986{n:014d}"
    return base + luhn.calc_check_digit(base)


def world(folder: Path, lines: int) -> tuple[Database, list[str]]:
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    db = Database(engine, load_settings(data_dir=folder, database_url=url,
                                        secret_key="bench-secret-key"))
    idents = []
    with db.unit() as uow:
        seed_catalog(uow)
        plan = catalog.get_plan_by_code(uow, "TH-7D-10GB")
        for n in range(lines):
            line = line_svc.create_line(uow, line_svc.LineSpec(
                iccid=_iccid(n), secret="5151", currency="CNY", home_country="CN",
                kind="sim", msisdn=f"+8613{n:09d}"))
            ledger.transfer(uow, f"seed:{line.id}", ledger.operator_account(
                uow, "manual_credit", "money:CNY", line_id=line.id),
                ledger.wallet(uow, line.id, "CNY"), 500_00, code="topup")
            issue_bucket(uow, line.id, plan, 10_000 + n)
            idents.append(str(line.msisdn))
    return db, idents


def records(db: Database, idents: list[str], count: int, tag: str) -> list[Usage]:
    at = db.clock() - timedelta(minutes=5)
    return [Usage(f"{tag}-{i}", idents[i % len(idents)], "data", 50 * MIB, "TH", at)
            for i in range(count)]


def one_by_one(db: Database, cmds: list[Usage]) -> float:
    start = time.perf_counter()
    for c in cmds:
        with db.unit() as uow:
            record_usage(uow, c.record_id, find_line(uow, str(c.line)), c.unit, c.quantity,
                         c.country, c.occurred_at)
    return len(cmds) / (time.perf_counter() - start)


def batches(db: Database, cmds: list[Usage], size: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(cmds), size):
        with db.unit() as uow:
            out = USAGE.apply(uow, cmds[i:i + size])
        assert all(isinstance(o, tuple) for o in out), out
    return len(cmds) / (time.perf_counter() - start)


def writer(db: Database, cmds: list[Usage]) -> float:
    start = time.perf_counter()
    futures = [db.writer.submit(c) for c in cmds]
    for f in futures:
        f.result()
    return len(cmds) / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=3000)
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db, idents = world(Path(tmp), args.lines)
        rows = [
            ("record_usage, one per transaction", one_by_one(
                db, records(db, idents, args.records // 4, "a"))),
            (f"USAGE.apply, batches of {args.batch}", batches(
                db, records(db, idents, args.records, "b"), args.batch)),
            ("GroupWriter (batches as they form)", writer(
                db, records(db, idents, args.records, "c"))),
        ]
        db.writer.close()
        with db.engine.connect() as conn:
            problems = check_books(conn)
    print(f"{'path':<40} {'records/s':>10}")
    for name, rate in rows:
        print(f"{name:<40} {rate:>10,.0f}")
    print(f"ledger check: {problems or 'clean'}")


if __name__ == "__main__":
    main()
