"""The ports of notification delivery: what a sender (SMTP, SMPP, console) must offer.

A sender hands one rendered message to its provider and reports each part the provider
accepted through ``accepted`` *as soon as it is accepted*; delivery records that at once, so a
worker that dies right after an acceptance does not send the same part again. Senders raise
only ``DeliveryFailed`` (``TemporaryFailure`` / ``PermanentFailure``).

A sender whose provider also pushes traffic back (SMPP: delivery receipts and messages that
travellers send) offers ``Receives``: the worker polls it, and it hands each event to an
``InboundHandler`` (attached by the composition root).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Email:
    """A rendered e-mail: multipart text + HTML, with a Message-ID stable across retries."""

    outbox_id: int
    to: str
    subject: str
    text: str
    html: str
    language: str
    message_id: str  # "<…@…>": the same on every attempt, so receivers can drop a repeat
    images: tuple[tuple[str, bytes], ...] = ()  # (Content-ID, PNG) the HTML shows inline
    reply_to: str = ""  # where answers go (a support ticket's keyed address), if not From


@dataclass(frozen=True)
class Sms:
    """A rendered SMS to an E.164 number; ``skip_parts`` parts were accepted before."""

    outbox_id: int
    to: str
    text: str
    skip_parts: int = 0


Message = Email | Sms

# accepted(part, parts, provider_message_id): the provider took part ``part`` of ``parts``.
Accepted = Callable[[int, int, str], None]


@runtime_checkable
class Sender(Protocol):
    """Hands messages of one channel (``email`` or ``sms``) to a provider."""

    channel: str
    name: str  # smtp, smpp, console

    def send(self, message: Message, accepted: Accepted) -> None:
        """Deliver ``message``, calling ``accepted`` once per part the provider accepts.

        Returns when every part was accepted; raises ``TemporaryFailure`` or
        ``PermanentFailure`` otherwise (parts accepted before the failure stay accepted).
        """
        ...

    def close(self) -> None:
        """Let go of any connection (the worker is stopping)."""
        ...


@dataclass(frozen=True)
class Receipt:
    """A provider's report on a message it accepted (SMPP delivery receipt)."""

    provider_message_id: str
    state: str  # DELIVRD, EXPIRED, DELETED, UNDELIV, ACCEPTD, UNKNOWN, REJECTD, ENROUTE
    error_code: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class InboundSms:
    """A message a traveller sent to our number (SMPP mobile-originated ``deliver_sm``)."""

    sender: str  # E.164 with "+"
    text: str
    destination: str = ""


class InboundHandler(Protocol):
    """Where a receiving sender hands what it is told; raising makes the provider retry."""

    def receipt(self, receipt: Receipt) -> None:
        """Record a delivery receipt."""
        ...

    def message(self, sms: InboundSms) -> None:
        """Act on an inbound SMS (the SMS keyword handler)."""
        ...


@runtime_checkable
class Receives(Protocol):
    """A sender whose provider pushes receipts and inbound messages back over its link."""

    def attach(self, handler: InboundHandler) -> None:
        """Set where receipts and inbound messages go."""
        ...

    def poll(self) -> int:
        """Read whatever the provider pushed, keep the link alive; the number of events."""
        ...
