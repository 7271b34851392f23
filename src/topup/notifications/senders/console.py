"""The console sender: prints each message instead of sending it (development, ``topup demo``).

It accepts everything at once, so the outbox behaves exactly as with a real provider: rows
go ``sent`` and carry a provider id (``console-<outbox id>``).
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from topup.notifications.interfaces import Accepted, Email, Message

log = logging.getLogger(__name__)


class ConsoleSender:
    """Writes messages of one channel to a stream (stdout unless told otherwise)."""

    name = "console"

    def __init__(self, channel: str, stream: TextIO | None = None) -> None:
        self.channel = channel
        self._stream = stream

    def send(self, message: Message, accepted: Accepted) -> None:
        """Print the message, then report it accepted."""
        out = self._stream or sys.stdout
        rule = "-" * 60
        if isinstance(message, Email):
            head = (f"To: {message.to}\nSubject: {message.subject}\n"
                    f"Message-ID: {message.message_id}\n")
        else:
            head = f"SMS to: {message.to}\n"
        out.write(f"{rule}\n[{self.channel} #{message.outbox_id}]\n{head}\n{message.text}\n"
                  f"{rule}\n")
        out.flush()
        log.info("console %s #%s to %s", self.channel, message.outbox_id, message.to)
        accepted(1, 1, f"console-{message.outbox_id}")

    def close(self) -> None:
        """Nothing to let go of."""
