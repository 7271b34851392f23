"""``topup``: serve, demo, db upgrade, lines import, plans import/list, admin create, ledger
check/chart, payments reconcile, payments bank import/review/resolve.

Every command exits non-zero with one line on stderr when its input is refused.
"""

from __future__ import annotations

import csv
import os
import signal
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress
from rich.table import Table

from topup import bootstrap
from topup.cli.agents import agents_app
from topup.cli.common import admin_id, err, fail, in_unit, opened, out
from topup.cli.diameter import diameter, diameter_probe
from topup.cli.esim import esim_app
from topup.cli.ivr import ivr
from topup.cli.mailin import mail_in
from topup.cli.vouchers import vouchers_app
from topup.cli.worker import notifications_app, worker
from topup.config import load_settings
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError

app = typer.Typer(help="topup: prepaid top-up platform for travel SIM/eSIM operators",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
lines_app = typer.Typer(help="SIM/eSIM lines", no_args_is_help=True)
plans_app = typer.Typer(help="The plan catalogue", no_args_is_help=True)
admin_app = typer.Typer(help="Staff and system logins", no_args_is_help=True)
ledger_app = typer.Typer(help="The ledger", no_args_is_help=True)
payments_app = typer.Typer(help="Payments", no_args_is_help=True)
for sub, name in ((db_app, "db"), (lines_app, "lines"), (plans_app, "plans"),
                  (admin_app, "admin"), (ledger_app, "ledger"), (payments_app, "payments")):
    app.add_typer(sub, name=name)
app.add_typer(agents_app, name="agents")
app.command("ivr")(ivr)
app.command("mail-in")(mail_in)
app.command("diameter")(diameter)
app.command("diameter-probe")(diameter_probe)
app.add_typer(vouchers_app, name="vouchers")
app.add_typer(esim_app, name="esim")
app.command("worker")(worker)
app.add_typer(notifications_app, name="notifications")

@app.command()
def serve(host: str = typer.Option("127.0.0.1", help="Address to listen on"),
          port: int = typer.Option(8000, help="Port to listen on"),
          workers: int = typer.Option(1, help="Worker processes (PostgreSQL: more than one)"),
          migrate: bool = typer.Option(True, help="Upgrade the schema before serving"),
          writer_process: bool = typer.Option(
              True, envvar="TOPUP_WRITER_PROCESS",
              help="Group-commit value-moving commands in a process of their own")) -> None:
    """Serve the API, the portal and the console with uvicorn.

    Top-ups and usage records of every worker are committed by one writer process
    (db/remote.py), started and supervised here, unless ``--no-writer-process``. With
    TOPUP_DIAMETER_IDENTITY (and _REALM, _PEERS) set, the Diameter Gy server (``topup
    diameter``) is started and supervised here too.

    Without TOPUP_PUBLIC_URL, payment links and return pages point at the address served here
    (``--host``/``--port``), not at the default port.
    """
    import uvicorn

    from topup.payments.registry import ProviderConfigError

    if not os.environ.get("TOPUP_PUBLIC_URL", "").strip():
        os.environ["TOPUP_PUBLIC_URL"] = public_url_for(host, port)  # read by every worker
    with opened(migrate=migrate) as db:
        try:
            bootstrap.payment_providers(db)  # refuse to start half-configured
        except ProviderConfigError as exc:
            raise fail(str(exc)) from None
        proxies = db.settings.trusted_proxies
    # X-Forwarded-For/-Proto are believed only from TOPUP_TRUSTED_PROXIES (none by default).
    # The request head a client may send before the app sees anything is bounded by the
    # parser (channels/api/server.py); past TOPUP_MAX_HEADER_BYTES the app answers 431.
    from topup.channels.api.server import BoundedHead
    from topup.cli.diameter import GyProcess
    from topup.db.remote import WriterProcess

    with ExitStack() as stack:
        if writer_process:
            try:
                writer = stack.enter_context(WriterProcess())
            except RuntimeError as exc:
                raise fail(str(exc)) from None
            os.environ["TOPUP_WRITER_SOCKET"] = writer.socket  # read by every worker
            # uvicorn stops on SIGTERM and then raises it again: exit through Python, so
            # the writer process is stopped after the workers, with what it has queued
            signal.signal(signal.SIGTERM, _exit_on_signal)
        if GyProcess.configured():  # online charging for packet gateways, its own process,
            try:  # which hands its requests to the writer process too
                stack.enter_context(GyProcess(dict(os.environ)))
            except (RuntimeError, ValueError) as exc:
                raise fail(f"Diameter Gy server: {exc}") from None
        uvicorn.run("topup.bootstrap:app", factory=True, host=host, port=port,
                    workers=workers, log_level="info", access_log=False,
                    proxy_headers=bool(proxies), forwarded_allow_ips=",".join(proxies) or None,
                    http=BoundedHead, loop="auto")


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def public_url_for(host: str, port: int) -> str:
    """The URL of ``topup serve --host host --port port`` as seen from this machine; a
    wildcard bind names no host to link to, so loopback stands in for it."""
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - compared
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


@app.command()
def demo() -> None:
    """Prepare demo data (idempotent) and print the demo logins and lines."""
    from topup.demo.seed import seed_demo

    with opened() as db:
        seeded: dict[str, Any] = in_unit(db, seed_demo)
    table = Table(title="Demo logins")
    for col in ("role", "login", "password"):
        table.add_column(col)
    for role in ("customer", "admin", "network", "agent"):
        table.add_row(role, *seeded[role])
    out.print(table)
    lines = Table(title="Demo lines (bind with the ICCID or number and the card secret)")
    for col in ("id", "ICCID", "MSISDN", "kind", "currency", "secret", "status"):
        lines.add_column(col)
    for spec, line in seeded["lines"]:
        lines.add_row(str(line.id), line.iccid, spec.msisdn, line.kind, line.currency,
                      spec.secret, line.status)
    out.print(lines)
    out.print("eSIM store: demo profiles in stock for every destination (topup esim stock); "
              "buy one at /store")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    with opened():
        out.print("schema is up to date")


@db_app.command("partitions")
def db_partitions(ahead: int = typer.Option(3, min=0, max=24,
                                            help="Months to make after the current one")
                  ) -> None:
    """PostgreSQL: make this month's partition of each partitioned log and the next months',
    and the id ranges of ledger transfers and orders until one empty range lies ahead of
    each (the worker does it daily too); report how many ids each has left."""
    from topup.db.partitions import ID_RANGED, ensure_partitions, headroom, is_partitioned

    with opened() as db:
        if db.engine.dialect.name != "postgresql":
            raise fail("partitions exist on PostgreSQL only; this database is SQLite")
        made = ensure_partitions(db.engine, db.clock(), db.settings.partition_id_span, ahead)
        with db.engine.connect() as conn:
            rooms = [headroom(conn, t) for t in ID_RANGED if is_partitioned(conn, t)]
    out.print(f"made {len(made)} partitions" + (f": {', '.join(made)}" if made else
                                                  " (all there already)"), markup=False)
    for room in rooms:
        out.print(f"{room.table}: last id {room.last_id}, ranges end at {room.end} "
                  f"({room.ids_ahead} ids ahead)", markup=False)


@db_app.command("archive")
def db_archive(before: str = typer.Option(..., "--before", help="YYYY-MM: archive the months "
                                         "before this one"),
               to: Path = typer.Option(..., "--to", help="Folder for the CSV files and "
                                       "manifest.json"),
               table: list[str] = typer.Option([], "--table", help="Only this log (again "
                                               "for more); all of them when not given")
               ) -> None:
    """PostgreSQL: detach the monthly partitions of the append-only logs older than
    --before, write each to a CSV file in --to (with manifest.json: rows and sha256), then
    drop them. Ledger transfers and orders are never archived."""
    from topup.db.partitions import ArchiveRefused, Month, archive

    try:
        month = Month.parse(before)
    except ValueError as exc:
        raise fail(str(exc)) from None
    with opened() as db:
        if db.engine.dialect.name != "postgresql":
            raise fail("archiving works on partitioned PostgreSQL tables only; this database "
                       "is SQLite")
        try:
            done = archive(db.engine, month, to, db.clock(),
                           db.settings.archive_retention_months, table)
        except ArchiveRefused as exc:
            raise fail(str(exc)) from None
    for a in done:
        out.print(f"{a.table} {a.month}: {a.rows} rows -> {to / a.file}", markup=False)
    out.print(f"archived {len(done)} partitions before {month} "
              f"({sum(a.rows for a in done)} rows); manifest {to / 'manifest.json'}",
              markup=False)


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise fail(f"no such file: {path}")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


@lines_app.command("import")
def lines_import(path: Path = typer.Argument(..., help="CSV: iccid,secret,currency,msisdn,"
                                             "imsi,kind,smdp_address,matching_id,home_country")
                 ) -> None:
    """Import lines from CSV in one transaction: a bad row imports nothing."""
    from topup.subscribers.lines import import_lines

    rows = _rows(path)

    def work(uow: UnitOfWork) -> int:
        with Progress(console=err, transient=not sys.stderr.isatty()) as progress:
            task = progress.add_task("importing lines", total=len(rows))
            count = 0
            for _ in import_lines(uow, rows):
                count += 1
                progress.advance(task)
        return count

    with opened() as db:
        count = in_unit(db, work)
    out.print(f"imported {count} lines")


@plans_app.command("import")
def plans_import(path: Path = typer.Argument(..., help="CSV: code,name_en,name_zh,zone,kind,"
                                             "data_mb,voice_min,sms,validity_days,"
                                             "validity_start,priority,price_XXX…")) -> None:
    """Create or update plans from CSV in one transaction."""
    from topup.catalog.importer import import_plans_csv

    rows = _rows(path)
    with opened() as db:
        count = in_unit(db, lambda uow: import_plans_csv(uow, rows))
    out.print(f"imported {count} plans")


@plans_app.command("list")
def plans_list(country: str = typer.Option(None, help="ISO 3166 alpha-2"),
               currency: str = typer.Option(None, help="Only plans priced in it")) -> None:
    """Show the plans on sale."""
    from topup.catalog import service as catalog
    from topup.money import Money

    with opened() as db:
        plans = in_unit(db, lambda uow: catalog.list_plans(
            uow, country=country.upper() if country else None,
            currency=currency.upper() if currency else None))
    table = Table(title=f"{len(plans)} plans")
    for col in ("id", "code", "name", "zone", "data", "days", "prices"):
        table.add_column(col)
    for p in plans:
        data = f"{p.data_bytes / 2**30:g} GB" if p.data_bytes else "-"
        prices = " ".join(str(Money(a, c)) for c, a in sorted(p.prices.items()))
        table.add_row(str(p.id), p.code, p.name_en, p.zone_code, data, str(p.validity_days),
                      prices)
    out.print(table)


@admin_app.command("create")
def admin_create(email: str, password: str = typer.Option(..., prompt=True, hide_input=True,
                                                          confirmation_prompt=True),
                 role: str = typer.Option("admin", help="admin, support, finance, network, agent "
                                                       "or terminal")
                 ) -> None:
    """Create a staff or system login."""
    from topup.subscribers import auth

    with opened() as db:
        user = in_unit(db, lambda uow: auth.register(
            uow, email=email, phone=None, password=password, role=role))
    out.print(f"created {user.role} {user.email} (id {user.id})")


@ledger_app.command("check")
def ledger_check() -> None:
    """Prove the books: exit 0 when every invariant holds, 1 with the violations otherwise."""
    from topup.ledger.invariants import check_books
    from topup.ledger.service import count_transfers

    settings = load_settings()
    if settings.is_sqlite and not Path(settings.database_url.removeprefix("sqlite:///")).exists():
        raise fail(f"no database at {settings.database_url}; run 'topup db upgrade' first")
    with opened(migrate=False) as db:
        from topup.db.migrate import current  # alembic only where the schema is asked about

        if current(db.engine) is None:
            raise fail("the database has no schema; run 'topup db upgrade' first")
        with db.unit(readonly=True) as uow:
            problems = check_books(uow.conn)
            count = count_transfers(uow)
    if problems:
        for p in problems:
            err.print(f"{p.what}: {p.detail}", markup=False)
        raise fail(f"the books do not balance ({len(problems)} problems)")
    out.print(f"the books balance: {count} transfers checked")


@ledger_app.command("chart")
def ledger_chart() -> None:
    """Print the chart of accounts: the Markdown table of docs/ledger.md."""
    from topup.ledger.accounts import chart_table

    sys.stdout.write(chart_table())  # as is: rich would wrap the table's long lines


@payments_app.command("reconcile")
def payments_reconcile(minutes: int = typer.Option(3, help="Ask about orders older than this")
                       ) -> None:
    """Ask the providers about orders still awaiting payment, and settle what they report."""
    from datetime import timedelta

    from topup.payments.registry import ProviderConfigError
    from topup.payments.service import reconcile

    with opened() as db:
        try:
            providers = bootstrap.payment_providers(db)
        except ProviderConfigError as exc:
            raise fail(str(exc)) from None
        result = reconcile(db, providers, older_than=timedelta(minutes=minutes))
    out.print(f"checked {result.checked}, settled {result.settled}, failed {result.failed}, "
              f"expired {result.expired}, errors {result.errors}")
    if result.errors:
        raise typer.Exit(1)


bank_app = typer.Typer(help="Bank transfers: statements and the review queue",
                       no_args_is_help=True)
payments_app.add_typer(bank_app, name="bank")


def _bank_provider(db: Database) -> Any:  # a BankProvider
    """The configured bank provider, or exit 1 saying how to configure it."""
    from topup.payments.providers.bank import BankProvider
    from topup.payments.registry import ProviderConfigError

    try:
        found = bootstrap.payment_providers(db).get("bank")
    except ProviderConfigError as exc:
        raise fail(str(exc)) from None
    if not isinstance(found, BankProvider):
        raise fail("bank transfer is not configured: add bank to TOPUP_PAYMENT_PROVIDERS "
                   "and set TOPUP_BANK_ACCOUNT_NAME and TOPUP_BANK_IBAN")
    return found


@bank_app.command("import")
def bank_import(path: Path = typer.Argument(..., help="The statement file"),
                fmt: str = typer.Option(None, "--format",
                                        help="camt053 or csv (default: by the file name)"),
                staff: str = typer.Option(..., "--as", help="Admin e-mail, for the audit log")
                ) -> None:
    """Import a bank statement: exact payments settle their orders, the rest goes to review."""
    from topup.payments.providers.bank import import_statement

    if not path.exists():
        raise fail(f"no such file: {path}")
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "camt053")
    with opened() as db:
        provider, actor = _bank_provider(db), admin_id(db, staff)
        try:
            result = import_statement(db, provider, path.read_bytes(), fmt, actor_id=actor)
        except TopupError as exc:
            raise fail(exc.detail) from None
    out.print(f"{result.payments} payments: {result.credited} credited, {result.review} to "
              f"review, {result.already_imported} imported before; {result.skipped} other "
              "entries skipped")
    for ref in result.conflicts:
        err.print(f"warning: entry {ref} was imported before with another amount", markup=False)


@bank_app.command("review")
def bank_review(state: str = typer.Option("open", help="open, credited or dismissed")) -> None:
    """List the bank payments that wait for (or were resolved by) finance."""
    from topup.payments.providers.bank import review_queue

    with opened() as db:
        items = review_queue(db, state=state)
    table = Table(title=f"{len(items)} {state} bank review items")
    for col in ("id", "reason", "booked", "amount", "payer", "remittance", "order", "detail"):
        table.add_column(col)
    for i in items:
        table.add_row(str(i.id), i.reason, str(i.booking_date or "-"), str(i.money),
                      i.payer_name or "-", i.remittance or "-", str(i.order_id or "-"),
                      i.detail)
    out.print(table)


@bank_app.command("resolve")
def bank_resolve(item_id: int = typer.Argument(..., help="The review item"),
                 action: str = typer.Option(..., help="credit_order, credit_wallet or dismiss"),
                 note: str = typer.Option(..., help="What finance did, and why"),
                 order: int = typer.Option(None, help="credit_order: the order to settle"),
                 line: str = typer.Option(None, help="credit_wallet: ICCID or MSISDN to top up"),
                 staff: str = typer.Option(..., "--as", help="Admin e-mail, for the record")
                 ) -> None:
    """Resolve a review item: credit it to an order awaiting exactly that amount, top up a
    line's wallet with it, or dismiss it."""
    from topup.payments.providers.bank import resolve_review

    with opened() as db:
        actor = admin_id(db, staff)
        try:
            item = resolve_review(db, item_id, action, actor, note, order_id=order, line=line)
        except TopupError as exc:
            raise fail(exc.detail) from None
    out.print(f"review item {item.id} {item.state}"
              + (f" (order {item.order_id})" if item.order_id else ""))


if __name__ == "__main__":
    app()
