"""``topup vouchers``: generate a batch with its one printer export, list, activate, block,
unblock, check a serial, and sweep expired cards and stale reservations.

Every command exits non-zero with one line on stderr when its input is refused.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from topup.cli.common import AS_HELP, admin_id, err, fail, in_unit, opened, out
from topup.db.uow import Database
from topup.errors import TopupError
from topup.money import Money
from topup.vouchers import service as vouchers
from topup.vouchers.export import CsvSink, file_stem
from topup.vouchers.generate import CardSink
from topup.vouchers.service import BatchSpec, BatchView

vouchers_app = typer.Typer(help="Scratch-card vouchers: batches, printer export, blocking",
                           no_args_is_help=True)
FORMATS = ("csv", "pdf")


def _expiry(text: str | None) -> datetime:
    """Cards are valid through the given day (UTC); by default for a year."""
    if not text:
        return datetime.now(UTC).replace(microsecond=0) + timedelta(days=365)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise fail(f"--expires takes a date like 2027-12-31, not {text!r}") from None
    return datetime.combine(day, time(23, 59, 59), UTC)


def _out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise fail(f"{path} is not a folder")
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _spec(db: Database, count: int, face: str | None, plan: str | None, currency: str | None,
          expires: str | None, pin_length: int, distributor: str | None, label: str | None
          ) -> BatchSpec:
    from topup.catalog import service as catalog

    if (face is None) == (plan is None):
        raise fail("give --face (a money voucher) or --plan (a plan voucher), not both")
    cur = (currency or db.settings.default_currency).upper()
    plan_id = None
    if plan is not None:
        with db.unit(readonly=True) as uow:
            try:
                plan_id = catalog.get_plan_by_code(uow, plan).id
            except TopupError as exc:
                raise fail(exc.detail) from None
    try:
        amount = Money.parse(face, cur).amount if face is not None else None
    except TopupError as exc:
        raise fail(exc.detail) from None
    return BatchSpec(count=count, expires_at=_expiry(expires), currency=cur, face_amount=amount,
                     plan_id=plan_id, pin_length=pin_length, distributor=distributor,
                     label=label)


def _sinks(db: Database, batch: BatchView, folder: Path, formats: list[str], per_file: int
           ) -> list[CardSink]:
    stem = file_stem(batch)
    sinks: list[CardSink] = []
    try:
        if "csv" in formats:
            sinks.append(CsvSink(folder / f"{stem}.csv"))
        if "pdf" in formats:
            from topup.vouchers.pdf import PdfSink  # fpdf only for the commands that print

            sinks.append(PdfSink(folder, stem, db.settings.operator_name, per_file=per_file))
    except FileExistsError as exc:
        raise fail(f"{exc.filename} exists; export files are never overwritten (generate "
                   f"batch {batch.id} into another folder with --batch {batch.id})") from None
    return sinks


@vouchers_app.command("generate")
def generate(
    out_dir: Path = typer.Option(..., "--out", help="Folder for the printer files (0700)"),
    staff: str = typer.Option(..., "--as", help=AS_HELP),
    count: int = typer.Option(None, help="How many cards (a new batch)"),
    face: str = typer.Option(None, help="Face value, e.g. 100.00 (a money voucher)"),
    plan: str = typer.Option(None, help="Plan code (a plan voucher: the plan's price now)"),
    currency: str = typer.Option(None, help="ISO 4217 (default: the operator's currency)"),
    expires: str = typer.Option(None, help="Valid through this day, e.g. 2027-12-31 (UTC)"),
    pin_length: int = typer.Option(16, help="14, 15 or 16 digits (the last is a check digit)"),
    distributor: str = typer.Option(None, help="Who the cards go to"),
    label: str = typer.Option(None, help="A name for the batch"),
    batch_id: int = typer.Option(None, "--batch", help="Generate a batch made over the API"),
    fmt: str = typer.Option("csv", "--format", help="csv, pdf or csv,pdf"),
    pdf_per_file: int = typer.Option(5000, help="Cards per PDF file"),
) -> None:
    """Make a batch's cards and write the printer files; the PINs exist only in them."""
    formats = [f.strip().lower() for f in fmt.split(",") if f.strip()]
    if not formats or any(f not in FORMATS for f in formats):
        raise fail("--format is csv, pdf or csv,pdf")
    folder = _out_dir(out_dir)
    with opened() as db:
        actor = admin_id(db, staff)
        if batch_id is None:
            if not count:
                raise fail("give --count for a new batch, or --batch for one made before")
            spec = _spec(db, count, face, plan, currency, expires, pin_length, distributor, label)
            batch = in_unit(db, lambda uow: vouchers.create_batch(uow, spec, actor))
        else:
            batch = in_unit(db, lambda uow: vouchers.get_batch(uow, batch_id))
        done = _run(db, batch, folder, formats, pdf_per_file, actor)
    out.print(f"batch {done.id}: {done.generated} cards {done.serial_first}-{done.serial_last}, "
              f"{done.face} each, written to {folder}")
    out.print("the PINs are not kept anywhere else: print, then store or destroy these files")


def _run(db: Database, batch: BatchView, folder: Path, formats: list[str], per_file: int,
         actor: int) -> BatchView:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    if batch.generated or batch.complete:
        raise fail(f"batch {batch.id} was generated before; its PINs cannot be produced again: "
                   "block it and generate a new batch")
    sinks = _sinks(db, batch, folder, formats, per_file)
    with Progress(*columns, console=err, transient=not sys.stderr.isatty()) as progress:
        task = progress.add_task("generating cards", total=batch.count)
        try:
            return vouchers.generate(db, batch.id, sinks, actor_id=actor,
                                     progress=lambda n: progress.advance(task, n))
        except TopupError as exc:
            for sink in sinks:
                sink.close()
            raise fail(exc.detail) from None


@vouchers_app.command("list")
def list_batches(limit: int = typer.Option(50, help="How many, newest first")) -> None:
    """Show the batches."""
    with opened() as db:
        batches = in_unit(db, lambda uow: vouchers.list_batches(uow, limit=limit))
    table = Table(title=f"{len(batches)} voucher batches")
    for col in ("id", "label", "cards", "face", "serials", "expires", "state", "distributor"):
        table.add_column(col)
    for b in batches:
        cards = str(b.count) if b.complete else f"{b.generated}/{b.count} (incomplete)"
        table.add_row(str(b.id), b.label or "-", cards, str(b.face),
                      f"{b.serial_first}-{b.serial_last}", b.expires_at.date().isoformat(),
                      b.state, b.distributor or "-")
    out.print(table)


@vouchers_app.command("activate")
def activate(batch_id: int = typer.Argument(..., help="The batch"),
             distributor: str = typer.Option(None, help="Who bought it (if not named before)"),
             staff: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """A distributor bought the batch: its unsold cards become redeemable."""
    with opened() as db:
        actor = admin_id(db, staff)
        batch = in_unit(db, lambda uow: vouchers.activate_batch(
            uow, batch_id, actor, distributor=distributor))
    out.print(f"batch {batch.id} active, sold to {batch.distributor or batch.agent_id}")


def _block(unblock: bool, batch_id: int | None, first: str | None, last: str | None,
           reason: str, staff: str) -> str:
    if (batch_id is None) == (first is None):
        raise fail("give a batch id, or --first (and --last) serials, not both")
    with opened() as db:
        actor = admin_id(db, staff)
        if batch_id is not None:
            act = vouchers.unblock_batch if unblock else vouchers.block_batch
            batch = in_unit(db, lambda uow: act(uow, batch_id, actor, reason))
            return f"batch {batch.id} is {batch.state}"
        act_range = vouchers.unblock_range if unblock else vouchers.block_range
        n = in_unit(db, lambda uow: act_range(uow, str(first), last or str(first), actor,
                                              reason))
    return f"{n} cards {'unblocked' if unblock else 'blocked'}"


@vouchers_app.command("block")
def block(batch_id: int = typer.Argument(None, help="Block this whole batch"),
          first: str = typer.Option(None, help="Or: the first serial of a range"),
          last: str = typer.Option(None, help="The last serial of the range (inclusive)"),
          reason: str = typer.Option(..., help="Why (kept in the audit log)"),
          staff: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """Block a batch or a serial range (lost, stolen, disputed cards)."""
    out.print(_block(False, batch_id, first, last, reason, staff))


@vouchers_app.command("unblock")
def unblock(batch_id: int = typer.Argument(None, help="Unblock this whole batch"),
            first: str = typer.Option(None, help="Or: the first serial of a range"),
            last: str = typer.Option(None, help="The last serial of the range (inclusive)"),
            reason: str = typer.Option(..., help="Why (kept in the audit log)"),
            staff: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """Unblock a batch or a serial range."""
    out.print(_block(True, batch_id, first, last, reason, staff))


@vouchers_app.command("check")
def check(serial: str = typer.Argument(..., help="The serial printed on the card")) -> None:
    """What anyone may learn from a serial: its state and face value."""
    with opened() as db:
        found = in_unit(db, lambda uow: vouchers.check_serial(uow, serial))
    what = f"{found.plan_name_en} ({found.face})" if found.plan_name_en else str(found.face)
    out.print(f"{found.serial}: {found.state}, {what}")


@vouchers_app.command("sweep")
def sweep(limit: int = typer.Option(1000, help="Cards per transaction")) -> None:
    """Expire cards past their expiry and release reservations left by a crash."""
    expired = released = 0
    with opened() as db:
        while n := in_unit(db, lambda uow: vouchers.release_stale(uow, limit)):
            released += n
        while n := in_unit(db, lambda uow: vouchers.expire_vouchers(uow, limit)):
            expired += n
    out.print(f"expired {expired} cards, released {released} stale reservations")

