"""``topup mail-in``: an SMTP receiver (aiosmtpd) for answers to ticket e-mails.

Run it behind the operator's mail server (which relays ``<local>+t…@domain`` to it) on a
loopback or private address. A recipient that is no ticket's reply address is refused at
RCPT (550), so the server never accepts mail it cannot place; a message refused by
``mailin.take`` gets a 550 with the reason; a database that cannot be reached a 451 (the
sending server tries again later).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller

from topup.db.uow import Database
from topup.errors import TopupError
from topup.support import mailin
from topup.support.errors import InboundRefused

log = logging.getLogger(__name__)
MAX_BYTES = 10 * 1024 * 1024


class TicketMailHandler:
    """aiosmtpd handler: RCPT checks the token, DATA adds the message."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        try:
            mailin.ticket_of(self.db.settings, [address])
        except InboundRefused:
            return "550 5.1.1 no such ticket address"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, mailin.take, self.db, raw, list(envelope.rcpt_tos))
        except TopupError as exc:
            log.info("inbound mail refused: %s", exc.detail)
            return f"550 5.7.1 {exc.detail[:200]}"
        except Exception:  # the database is away: the sender keeps it and tries again
            log.exception("inbound mail could not be stored")
            return "451 4.3.0 try again later"
        return "250 2.0.0 added to the ticket"


def receiver(db: Database, host: str, port: int) -> Controller:
    """A started-on-demand SMTP receiver on ``host``:``port`` (``.start()`` / ``.stop()``)."""
    return Controller(TicketMailHandler(db), hostname=host, port=port,
                      data_size_limit=MAX_BYTES)
