"""E-mail over SMTP (``smtplib``): multipart text + HTML, UTF-8 headers, a stable Message-ID.

One connection is kept between messages and checked with ``NOOP`` before it is reused, so a
message is never re-sent on a connection that died under it: a retry only ever follows a
failure reported *before* the server accepted (the reply to DATA). Errors are translated here:
a 5xx about the recipient or the content is permanent; everything else (connection, 4xx,
authentication, our own sender address refused) is temporary and retried with back-off.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate

from topup.notifications.errors import PermanentFailure, TemporaryFailure
from topup.notifications.interfaces import Accepted, Email, Message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and as whom to send (``TOPUP_SMTP_*``)."""

    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "topup@localhost"  # the From address
    sender_name: str = ""  # the From display name (the operator's)
    timeout: float = 30.0


def build_message(message: Email, sender: str, sender_name: str) -> EmailMessage:
    """The MIME message: text and HTML alternatives, headers RFC 2047-encoded as needed."""
    msg = EmailMessage(policy=SMTP_POLICY)
    local, _, domain = sender.partition("@")
    msg["From"] = Address(display_name=sender_name, username=local, domain=domain)
    msg["To"] = message.to
    msg["Subject"] = message.subject
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message.message_id
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
    if message.reply_to:  # a ticket's keyed address: the answer lands in the ticket
        msg["Reply-To"] = message.reply_to
    msg.set_content(message.text, charset="utf-8")
    msg.add_alternative(message.html, subtype="html", charset="utf-8")
    html = msg.get_body(("html",))
    for cid, png in message.images:  # multipart/related: shown inline, not as attachments
        assert html is not None
        html.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>",
                         disposition="inline", filename=f"{cid.partition('@')[0]}.png")
    # After the parts exist: add_alternative moves every Content-* header into the first part.
    msg["Content-Language"] = message.language
    return msg


def _failure(exc: smtplib.SMTPException) -> Exception:
    """The delivery error an smtplib exception means."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            return PermanentFailure(f"recipient refused: {exc.recipients}")
        return TemporaryFailure(f"recipient deferred: {exc.recipients}")
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        return PermanentFailure(f"message refused: {exc.smtp_code} {exc.smtp_error!r}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return TemporaryFailure(f"SMTP {exc.smtp_code} {exc.smtp_error!r}")
    return TemporaryFailure(f"SMTP: {exc}")


class SmtpSender:
    """Sends e-mail through one SMTP server (``Sender`` for channel ``email``)."""

    channel = "email"
    name = "smtp"

    def __init__(self, config: SmtpConfig,
                 connect: Callable[..., smtplib.SMTP] = smtplib.SMTP) -> None:
        self.config = config
        self._connect = connect
        self._conn: smtplib.SMTP | None = None

    def _open(self) -> smtplib.SMTP:
        c = self.config
        conn = self._connect(c.host, c.port, timeout=c.timeout)
        try:
            conn.ehlo()
            if c.starttls:
                conn.starttls(context=ssl.create_default_context())
                conn.ehlo()
            if c.user:
                conn.login(c.user, c.password)
        except BaseException:
            conn.close()
            raise
        return conn

    def _connection(self) -> smtplib.SMTP:
        if self._conn is not None:
            try:
                if self._conn.noop()[0] == 250:
                    return self._conn
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        self._conn = self._open()
        return self._conn

    def send(self, message: Message, accepted: Accepted) -> None:
        """Send one e-mail; ``accepted`` is told the Message-ID once the server took it."""
        if not isinstance(message, Email):
            raise PermanentFailure("the SMTP sender sends e-mail only")
        if any(c in message.to for c in ",;<>\"\r\n") or message.to.count("@") != 1:
            raise PermanentFailure("the recipient is not one mailbox")
        mime = build_message(message, self.config.sender, self.config.sender_name)
        try:
            # The envelope names the one recipient itself: never the To: header parsed again.
            self._connection().send_message(mime, to_addrs=[message.to])
        except smtplib.SMTPException as exc:
            self.close()
            raise _failure(exc) from exc
        except OSError as exc:
            self.close()
            raise TemporaryFailure(f"SMTP server {self.config.host}:{self.config.port}: "
                                   f"{exc}") from exc
        accepted(1, 1, message.message_id)

    def close(self) -> None:
        """Say QUIT if the connection is still up, and forget it."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            conn.close()
