"""``topup mail-in``: answers to support ticket e-mails, into their tickets.

Two ways in: an SMTP receiver (``--host``/``--port``, loopback by default) that the
operator's mail server relays the ticket reply addresses to, or one message on stdin
(``--stdin``) for a mail server's pipe transport. Either way ``support.mailin.take`` decides.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import typer

from topup.cli.common import fail, opened
from topup.db.uow import Database
from topup.errors import TopupError


def mail_in(host: str = typer.Option("127.0.0.1", help="Address to listen on"),
            port: int = typer.Option(2525, help="Port to listen on"),
            stdin: bool = typer.Option(False, "--stdin",
                                       help="Take one message from stdin and exit"),
            migrate: bool = typer.Option(True, help="Upgrade the schema first")) -> None:
    """Add e-mailed answers to support tickets (an SMTP receiver, or one message on stdin)."""
    from topup.support import mailin

    with opened(migrate) as db:
        if stdin:
            try:
                added = mailin.take(db, sys.stdin.buffer.read())
            except TopupError as exc:
                raise fail(exc.detail) from None
            typer.echo(f"added to ticket {added.ticket_id}")
            return
        _serve(db, host, port)


def _serve(db: Database, host: str, port: int) -> None:
    from topup.support.smtpd import receiver

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop = threading.Event()

    def ask_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, ask_stop)
    signal.signal(signal.SIGINT, ask_stop)
    server = receiver(db, host, port)
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc}") from None
    typer.echo(f"ticket mail receiver listening on {host}:{port}")
    try:
        stop.wait()
    finally:
        server.stop()
        typer.echo("ticket mail receiver stopped")
