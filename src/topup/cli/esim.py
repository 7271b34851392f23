"""``topup esim``: import profiles from the SM-DP+ vendor's file, see the stock per pool,
give back reservations that ran out, and alert on low stock.

Every command exits non-zero with one line on stderr when its input is refused.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from topup.cli.common import fail, in_unit, opened, out
from topup.db.uow import UnitOfWork
from topup.esim.errors import BadProfileRow

esim_app = typer.Typer(help="eSIM profiles for the store: import, stock, sweeps",
                       no_args_is_help=True)


@esim_app.command("import")
def import_file(
        path: Path = typer.Argument(..., help="CSV with a header: iccid,smdp_address,"
                                    "matching_id[,confirmation_code,profile_type,zone,imsi,"
                                    "msisdn]"),
        profile_type: str = typer.Option(None, "--type", help="Profile type of rows without"),
        zone: str = typer.Option(None, help="Zone (country or region code) of rows without"),
        currency: str = typer.Option(None, help="Currency of the new lines until sold")) -> None:
    """Import a vendor's profiles in one transaction: a bad row imports nothing and is named."""
    from topup.esim.inventory import import_profiles, read_vendor_file

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read {path}: {exc}") from None
    try:
        rows = read_vendor_file(text)
    except BadProfileRow as exc:
        raise fail(exc.detail) from None

    def work(uow: UnitOfWork) -> int:
        return sum(1 for _ in import_profiles(uow, rows, profile_type=profile_type, zone=zone,
                                              currency=currency))

    with opened() as db:
        count = in_unit(db, work)
    out.print(f"imported {count} eSIM profiles")


@esim_app.command("stock")
def stock() -> None:
    """Profiles per pool (profile type and zone) and state."""
    from topup.esim.inventory import stock as read_stock

    with opened() as db:
        rows = in_unit(db, read_stock)
    table = Table("type", "zone", "available", "reserved", "assigned", "installed", "failed",
                  "deleted")
    for r in rows:
        table.add_row(r["profile_type"], r["zone"], *(str(r[k]) for k in (
            "available", "reserved", "assigned", "installed", "failed", "deleted")))
    out.print(table)


@esim_app.command("sweep")
def sweep() -> None:
    """Give back the profiles of reservations that ran out unpaid; alert on low stock."""
    from topup.esim import store

    with opened() as db:
        released = store.sweep(db)
        alerts = store.low_stock(db)
    out.print(f"released {released} reservations; {len(alerts)} low-stock alerts")
