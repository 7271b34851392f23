"""Generating a million scratch cards with their printer CSV, on SQLite and PostgreSQL.

Run: ``.venv/bin/python bench/vouchers.py [--count 1000000] [--out docs/benchmarks.md]``.
Each backend gets a fresh database and an admin login; ``topup vouchers generate`` (the
command operators run, rich progress bar and all) makes the batch and its CSV, timed as a
subprocess. Then, in-process: the batch is activated (one ledger transfer per shard, every
card updated), a sheet of PDF cards is rendered for a small batch, and single redemptions are
timed against the full table (a PIN is found by its hash through the UNIQUE index). Checks:
the CSV has ``count`` distinct Luhn-valid PINs, the database ``count`` cards, a sample of PINs
hash to what is stored, every timed redemption credited once, and ``topup ledger check``.
With ``--out`` the section "Generating voucher batches" of that file is replaced (or added).
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import _support as sup  # bench/ is a folder of scripts: run as a script, it is on sys.path
from sqlalchemy import func, select
from stdnum import luhn

import topup.handlers  # noqa: F401  (registers the event handlers every Database uses)
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.subscribers import lines as line_svc
from topup.vouchers import service as vouchers
from topup.vouchers.pdf import PdfSink
from topup.vouchers.pins import PinHasher
from topup.vouchers.tables import vouchers as voucher_table

ADMIN = ("bench-admin@example.com", "bench-admin-pass")
DEFAULT_PG = "postgresql+psycopg://topup:topup@127.0.0.1:5432/topup"
SECTION = "## Generating voucher batches"


@dataclass
class Result:
    backend: str
    count: int
    generate_s: float = 0.0
    activate_s: float = 0.0
    pdf_cards: int = 0
    pdf_s: float = 0.0
    redeem_ms: list[float] = field(default_factory=list)
    csv_mb: float = 0.0
    checks: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.count / self.generate_s if self.generate_s else 0.0


def generate_cli(env: dict[str, str], out: Path, count: int, res: Result) -> Path:
    """Time ``topup vouchers generate`` for ``count`` cards; the CSV it wrote."""
    made = sup.run_topup(env, "admin", "create", ADMIN[0], "--password", ADMIN[1])
    if made.returncode != 0:
        raise RuntimeError(f"admin create failed: {made.stderr}")
    start = time.perf_counter()
    done = sup.run_topup(env, "vouchers", "generate", "--out", str(out), "--as", ADMIN[0],
                         "--count", str(count), "--face", "100", "--currency", "CNY",
                         "--distributor", "Bench Distribution", timeout=3600)
    res.generate_s = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"vouchers generate failed: {done.stderr}")
    path = next(out.glob("*.csv"))
    res.csv_mb = path.stat().st_size / 1e6
    return path


def check_export(db: Database, path: Path, count: int, res: Result) -> list[str]:
    """The CSV and the table agree; returns the PINs (for redemptions)."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    pins = [r["pin"] for r in rows]
    if len(rows) != count or len(set(pins)) != count:
        res.checks.append(f"CSV has {len(rows)} rows, {len(set(pins))} distinct PINs")
    if not all(luhn.is_valid(p) for p in pins):
        res.checks.append("a PIN fails its check digit")
    hasher = PinHasher(db.settings.secret_key)
    sample = random.Random(1).sample(rows, min(1000, len(rows)))
    with db.unit(readonly=True) as uow:
        stored = uow.conn.execute(select(func.count()).select_from(voucher_table)).scalar_one()
        hashes = {int(s): h for s, h in uow.conn.execute(
            select(voucher_table.c.serial, voucher_table.c.pin_hash).where(
                voucher_table.c.serial.in_([int(r["serial"]) for r in sample])))}
    if stored != count:
        res.checks.append(f"the database holds {stored} cards")
    if any(hashes.get(int(r["serial"])) != hasher(r["pin"]) for r in sample):
        res.checks.append("a sampled PIN does not hash to the stored hash")
    return pins


def activate(db: Database, res: Result) -> None:
    with db.unit(readonly=True) as uow:
        batch = vouchers.list_batches(uow, limit=1)[0]
    start = time.perf_counter()
    with db.unit() as uow:
        vouchers.activate_batch(uow, batch.id, None)
    res.activate_s = time.perf_counter() - start


def pdf_sheet(db: Database, folder: Path, cards: int, res: Result) -> None:
    with db.unit() as uow:
        batch = vouchers.create_batch(uow, vouchers.BatchSpec(
            count=cards, face_amount=5000, currency="CNY",
            expires_at=uow.now + timedelta(days=365)), None)
    start = time.perf_counter()
    vouchers.generate(db, batch.id, [PdfSink(folder, "sheet", "bench", per_file=cards)],
                      actor_id=None)
    res.pdf_s, res.pdf_cards = time.perf_counter() - start, cards


def redemptions(db: Database, pins: list[str], n: int, res: Result) -> None:
    """Redeem ``n`` random cards of the big batch onto ``n`` fresh lines, one at a time."""
    chosen = random.Random(2).sample(pins, n)
    with db.unit() as uow:
        lines = [line_svc.create_line(uow, line_svc.LineSpec(
            iccid=sup.bench_iccid(i + 1), secret="bench", currency="CNY")).id
            for i in range(n)]
    for line_id, pin in zip(lines, chosen, strict=True):
        start = time.perf_counter()
        done = vouchers.redeem(db, pin, line_id, vouchers.RedeemContext(channel="api"))
        res.redeem_ms.append((time.perf_counter() - start) * 1000)
        if done.credited is None or done.credited.amount != 100_00:
            res.checks.append(f"redemption credited {done.credited}")


def run_backend(backend: str, url: str | None, args: argparse.Namespace) -> Result:
    res = Result(backend, args.count)
    with tempfile.TemporaryDirectory(prefix=f"topup-vbench-{backend}-") as tmp:
        data_dir = Path(tmp)
        url = url or sup.sqlite_url(data_dir)
        env = sup.topup_env(data_dir, url)
        out = data_dir / "print"
        csv_path = generate_cli(env, out, args.count, res)
        print(f"{backend}: generated {args.count} cards in {res.generate_s:.1f} s", flush=True)
        settings = load_settings(data_dir=data_dir, database_url=url)
        db = Database(make_engine(url), settings)
        try:
            pins = check_export(db, csv_path, args.count, res)
            activate(db, res)
            pdf_sheet(db, data_dir, args.pdf_cards, res)
            redemptions(db, pins, args.redemptions, res)
        finally:
            db.dispose()
        checked = sup.run_topup(env, "ledger", "check", timeout=600)
        if checked.returncode != 0:
            res.checks.append(f"ledger check: {checked.stderr.strip()[-200:]}")
    return res


TABLE_HEAD = ("| backend | cards | generate + CSV s | cards/s | CSV MB | activate s "
              "| PDF cards | PDF s | redeem p50 ms | redeem max ms | checks |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def table(results: list[Result]) -> str:
    rows = [TABLE_HEAD]
    for r in results:
        p50 = statistics.median(r.redeem_ms) if r.redeem_ms else 0.0
        worst = max(r.redeem_ms, default=0.0)
        rows.append(f"| {r.backend} | {r.count:,} | {r.generate_s:.1f} | {r.rate:,.0f} | "
                    f"{r.csv_mb:.1f} | {r.activate_s:.1f} | {r.pdf_cards:,} | {r.pdf_s:.1f} | "
                    f"{p50:.1f} | {worst:.1f} | {'ok' if not r.checks else 'FAILED'} |")
    return "\n".join(rows)


def section(tbl: str, facts: sup.Machine, results: list[Result], args: argparse.Namespace
            ) -> str:
    problems = "\n".join(f"- {r.backend}: {c}" for r in results for c in r.checks) or \
        "- none: every check passed"
    return f"""{SECTION}

What is measured: `topup vouchers generate --count {args.count} --face 100` (the operator's
command, as a subprocess: CLI start, schema check, the batch, every card's PIN from `secrets`
with its Luhn digit and HMAC, inserted in chunks of 50,000 that commit one by one, each one
bulk insert (`executemany` on SQLite, `COPY` on PostgreSQL), and the print shop's CSV
written as it goes) on a fresh database. *activate*: the batch sold to a
distributor (one ledger transfer per liability shard, every card set active, one
transaction). *PDF*: a separate batch of {args.pdf_cards:,} cards rendered to A4 sheets (ten
cards a page, Chinese font embedded). *redeem*: {args.redemptions} single redemptions of random
cards of the big batch onto fresh lines, one at a time in-process (limits, reserve, post, order,
wallet credit: three transactions), looked up by PIN hash in the full table. *checks*: the CSV
has {args.count:,} distinct Luhn-valid PINs, the database {args.count:,} cards, 1,000 sampled
PINs hash to what is stored, each redemption credited 100.00 once, `topup ledger check` passes.

{tbl}

{facts.describe()}

Problems seen during the run:

{problems}

Rerun:

```
.venv/bin/python bench/vouchers.py --count {args.count} --out docs/benchmarks.md
```

A PDF of a million cards would be 100,000 pages; sheets are split into files of
`--pdf-per-file` cards (5,000 by default), and the CSV is what print shops take for large runs.
A load average above 1 means other work shared the two CPUs: read the times as upper
bounds. Each bench replaces only its own section of this page.
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=1_000_000, help="cards in the big batch")
    p.add_argument("--pdf-cards", type=int, default=1000, help="cards on the PDF sheets")
    p.add_argument("--redemptions", type=int, default=200, help="single redemptions timed")
    p.add_argument("--pg-url", default=None, help="admin URL (default: scripts/postgres's)")
    p.add_argument("--skip-postgres", action="store_true")
    p.add_argument("--out", type=Path, default=None, help="Markdown file to put the section in")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = sup.load_average()
    if float(load_before.split()[0]) > 0.5:
        print(f"bench: warning: the machine is busy (load {load_before})", file=sys.stderr)
    pg_url = None if args.skip_postgres else (args.pg_url or DEFAULT_PG)
    results = [run_backend("sqlite", None, args)]
    print(table(results), flush=True)
    if pg_url is not None:
        bench_url = sup.recreate_database(pg_url, "topup_bench_vouchers")
        try:
            results.append(run_backend("postgresql", bench_url, args))
        finally:
            sup.drop_database(pg_url, "topup_bench_vouchers")
    tbl = table(results)
    facts = sup.machine(pg_url, load_before)
    print(f"\n{tbl}\n\n{facts.describe()}")
    for r in results:
        for c in r.checks:
            print(f"check failed: {r.backend}: {c}")
    if args.out:
        sup.write_section(args.out, section(tbl, facts, results, args))
        print(f"wrote {args.out}")
    return 0 if all(not r.checks for r in results) else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
