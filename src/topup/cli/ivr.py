"""``topup ivr``: the IVR hotline's FastAGI server, for Asterisk's ``AGI(agi://host:4573/hotline)``.

It is wired like ``topup serve``: the database and the payment providers (and the savers of
saved cards) come from ``topup.bootstrap`` and the environment.
"""

from __future__ import annotations

import asyncio
import logging

import typer

from topup import bootstrap
from topup.cli.common import fail
from topup.db.migrate import upgrade


def ivr(host: str = typer.Option("127.0.0.1", help="Address to listen on (Asterisk connects)"),
        port: int = typer.Option(4573, help="Port to listen on (FastAGI's usual is 4573)"),
        call_seconds: int = typer.Option(600, help="Longest a call may last, in seconds"),
        migrate: bool = typer.Option(True, help="Upgrade the schema before serving")) -> None:
    """Serve the IVR hotline (balance, voucher by DTMF, saved-card top-up) over FastAGI."""
    from topup.channels.ivr.server import serve
    from topup.channels.ivr.session import Hotline
    from topup.payments.registry import ProviderConfigError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    db = bootstrap.database()
    try:
        if migrate:
            upgrade(db.engine)
        try:
            providers = bootstrap.payment_providers(db)
            savers = bootstrap.saved_methods(db, providers)
        except ProviderConfigError as exc:
            raise fail(str(exc)) from None
        hotline = Hotline(db, providers, savers)
        ready = lambda address: typer.echo(f"IVR hotline listening on {address}")  # noqa: E731
        try:
            asyncio.run(serve(hotline, host, port, call_seconds=call_seconds, ready=ready))
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        except KeyboardInterrupt:
            typer.echo("IVR hotline stopped")
    finally:
        db.dispose()
