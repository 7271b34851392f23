"""Answers by e-mail: every ticket e-mail carries a Reply-To address with a keyed token,
and an inbound message (raw RFC 5322 bytes, from ``topup mail-in``'s SMTP receiver or a mail
server's pipe) is added to the ticket that token names.

The address is ``<local>+t<ticket id>-<tag>@<domain>`` on the operator's sending address
(``TOPUP_SMTP_FROM``); the tag is an HMAC-SHA256 of the ticket id under a key derived from
``TOPUP_SECRET_KEY``, so nobody can write into a ticket they were not sent. The message is
taken only from the ticket's traveller (its From is their e-mail address), never from an
auto-responder (RFC 3834 ``Auto-Submitted``), once per Message-ID; the quoted history below
the answer is cut off.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from functools import partial
from typing import Any

from sqlalchemy import select

from topup.config import Settings
from topup.db.uow import Database, UnitOfWork
from topup.subscribers.tables import users
from topup.support import service
from topup.support.errors import InboundRefused, InvalidTicket
from topup.support.tables import ticket_messages

TOKEN = re.compile(r"\+t(\d{1,18})-([0-9a-f]{16})@", re.IGNORECASE)
# Where a reply's quoted history starts: mail clients in English and Chinese.
QUOTE_STARTS = (
    re.compile(r"^\s*>"),
    re.compile(r"^\s*On .{0,300}wrote:\s*$"),
    re.compile(r"^\s*在.{0,300}写道[:：]\s*$"),
    re.compile(r"^\s*-{2,}\s*(Original Message|原始邮件|回复的原邮件)\s*-{2,}\s*$", re.I),
    re.compile(r"^\s*(From|发件人)\s*[:：]\s*.+$"),
    re.compile(r"^_{10,}\s*$"),
    re.compile(r"^-- $"),  # a signature
)


def _tag(settings: Settings, ticket_id: int) -> str:
    key = hmac.new(settings.secret_key.encode(), b"support-reply", hashlib.sha256).digest()
    return hmac.new(key, f"ticket:{ticket_id}".encode(), hashlib.sha256).hexdigest()[:16]


def reply_address(settings: Settings, ticket_id: int) -> str:
    """The Reply-To of a ticket's e-mails."""
    local, _, domain = settings.smtp_from.rpartition("@")
    return f"{local or 'support'}+t{ticket_id}-{_tag(settings, ticket_id)}@{domain or 'localhost'}"


def ticket_of(settings: Settings, addresses: Iterable[str]) -> int:
    """The ticket the first genuine reply address among ``addresses`` names."""
    for address in addresses:
        for found in TOKEN.finditer(address or ""):
            ticket_id = int(found.group(1))
            if hmac.compare_digest(found.group(2).lower(), _tag(settings, ticket_id)):
                return ticket_id
    raise InboundRefused("no reply address of a ticket among the recipients")


def strip_quoted(text: str) -> str:
    """The answer without the history the mail client quoted below it."""
    kept: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if any(p.match(line) for p in QUOTE_STARTS):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


@dataclass(frozen=True)
class Inbound:
    """What an inbound e-mail says, as the ticket needs it."""

    message_id: str
    sender: str
    recipients: tuple[str, ...]
    text: str
    automatic: bool


def _body(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content: Any = part.get_content()
    if part.get_content_subtype() == "html":
        content = html.unescape(re.sub(r"(?s)<(script|style).*?</\1>|<[^>]+>", " ",
                                       re.sub(r"(?i)<br\s*/?>|</p>", "\n", str(content))))
    return str(content)


def parse(raw: bytes, envelope_to: Iterable[str] = ()) -> Inbound:
    """Read a raw message; the envelope's recipients first, then its address headers."""
    msg = message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    headers = [str(v) for k in ("Delivered-To", "X-Original-To", "To", "Cc")
               for v in msg.get_all(k, [])]
    rcpts = tuple(envelope_to) + tuple(a for _, a in getaddresses(headers))
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    return Inbound(message_id=str(msg.get("Message-ID", "")).strip()[:255],
                   sender=parseaddr(str(msg.get("From", "")))[1].lower(), recipients=rcpts,
                   text=strip_quoted(_body(msg)), automatic=auto not in ("", "no"))


def take(db: Database, raw: bytes, envelope_to: Iterable[str] = ()) -> service.Message:
    """Add an inbound e-mail to its ticket as the traveller's message (a second delivery of
    the same Message-ID returns the first); InboundRefused when it answers no ticket of ours,
    comes from someone else or from an auto-responder."""
    found = parse(raw, envelope_to)
    if found.automatic:
        raise InboundRefused("an automatic reply (Auto-Submitted) is not added")
    ticket_id = ticket_of(db.settings, found.recipients)
    return db.transact(partial(_add, found, ticket_id), what="inbound e-mail")


def _add(found: Inbound, ticket_id: int, uow: UnitOfWork) -> service.Message:
    """``take``'s one transaction: database writes only (run again after a conflict)."""
    if found.message_id:
        again = uow.conn.execute(select(ticket_messages).where(
            ticket_messages.c.email_id == found.message_id)).first()
        if again is not None:
            return service.Message.of(again)
    ticket = service.get_ticket(uow, ticket_id)
    owner = uow.conn.execute(select(users.c.email).where(
        users.c.id == ticket.customer_id)).scalar() if ticket.customer_id else None
    if not owner or owner.lower() != found.sender:
        raise InboundRefused("the sender is not the ticket's traveller")
    try:
        return service.customer_message(uow, ticket.id, ticket.customer_id or 0,
                                         found.text, via="email",
                                         email_id=found.message_id or None)
    except InvalidTicket as exc:
        raise InboundRefused(f"the answer is empty or too long: {exc.detail}") from exc
