"""Answers by e-mail, over real SMTP on loopback (SQLite and PostgreSQL): a staff answer goes
out with the ticket's keyed Reply-To; the traveller answers it to ``topup mail-in``'s
receiver; the answer lands in the ticket without the quoted history, once; forged tokens,
other senders and auto-replies are refused."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from tests.factories import make_user
from tests.integration.notifications.conftest import run_outbox
from tests.integration.notifications.peers import SmtpPeer, free_port
from tests.integration.support.world import Traveller, pending_payment
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications.senders.smtp import SmtpConfig, SmtpSender
from topup.support import mailin, pending, service
from topup.support.errors import InboundRefused
from topup.support.smtpd import receiver


@pytest.fixture
def inbox() -> Iterator[SmtpPeer]:
    """Where the platform's e-mails arrive (the traveller's mailbox)."""
    peer = SmtpPeer().start()
    yield peer
    peer.stop()


@pytest.fixture
def mail_in(db: Database) -> Iterator[int]:
    """``topup mail-in``'s receiver on loopback; its port."""
    port = free_port()
    server = receiver(db, "127.0.0.1", port)
    server.start()
    yield port
    server.stop()


def _answer(t: Traveller, to: str, text: str, *, sender: str | None = None,
            message_id: str = "<answer-1@mail.example>", auto: bool = False) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Traveller <{sender or t.user.email}>"
    msg["To"] = to
    msg["Subject"] = "Re: answer to your request"
    msg["Message-ID"] = message_id
    if auto:
        msg["Auto-Submitted"] = "auto-replied"
    msg.set_content(text)
    return msg


def _send(port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(msg)


def _staff_answer_arrives(db: Database, clock: FrozenClock, inbox: SmtpPeer
                          ) -> tuple[Traveller, int, EmailMessage]:
    t = pending_payment(db)
    clock.advance(minutes=31)
    assert pending.open_for_late_payments(db) == 1
    agent = make_user(db, "support")
    with db.unit(readonly=True) as uow:
        [ticket] = service.tickets_of(uow, t.user.id)
    with db.unit() as uow:
        service.reply(uow, ticket.id, agent.id, "The bank confirmed it; credited now.")
    sender = SmtpSender(SmtpConfig("127.0.0.1", inbox.port, sender="help@topup.example",
                                   timeout=10))
    try:
        run_outbox(db, {"email": sender})
    finally:
        sender.close()
    [reply] = [r.message for r in inbox.received if "answered" in r.message.get_body(
        ("plain",)).get_content()]  # type: ignore[union-attr]
    return t, ticket.id, reply


def test_the_traveller_answers_the_staff_email_and_it_lands_in_the_ticket(
        db: Database, clock: FrozenClock, inbox: SmtpPeer, mail_in: int) -> None:
    t, ticket_id, reply = _staff_answer_arrives(db, clock, inbox)
    reply_to = str(reply["Reply-To"])
    assert reply_to == mailin.reply_address(db.settings, ticket_id)
    assert "The bank confirmed it; credited now." in reply.get_body(
        ("plain",)).get_content()  # type: ignore[union-attr]
    quoted = ("Thanks, I see it now.\n\nOn Sun, 22 Nov 2026 at 09:00, Support wrote:\n"
              "> The bank confirmed it; credited now.\n")
    _send(mail_in, _answer(t, reply_to, quoted))
    _send(mail_in, _answer(t, reply_to, quoted))  # the mail server hands it over twice
    with db.unit(readonly=True) as uow:
        said = service.messages(uow, ticket_id)
        ticket = service.get_ticket(uow, ticket_id)
    assert [(m.kind, m.via, m.body) for m in said[-2:]] == [
        ("staff", "console", "The bank confirmed it; credited now."),
        ("customer", "email", "Thanks, I see it now.")]
    assert ticket.state == "open", "the traveller answered: staff's turn"


def test_forged_tokens_other_senders_and_auto_replies_are_refused(
        db: Database, clock: FrozenClock, inbox: SmtpPeer, mail_in: int) -> None:
    t, ticket_id, reply = _staff_answer_arrives(db, clock, inbox)
    good = str(reply["Reply-To"])
    forged = good.replace(f"+t{ticket_id}-", f"+t{ticket_id + 1}-")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(mail_in, _answer(t, forged, "let me in"))
    with pytest.raises(smtplib.SMTPDataError) as other:
        _send(mail_in, _answer(t, good, "I am someone else", sender="mallory@example.com"))
    assert other.value.smtp_code == 550
    with pytest.raises(smtplib.SMTPDataError):
        _send(mail_in, _answer(t, good, "I am away", auto=True, message_id="<ooo@x>"))
    with db.unit(readonly=True) as uow:
        assert [m.kind for m in service.messages(uow, ticket_id)] == ["system", "staff"]


def test_take_reads_the_envelope_and_html_only_messages(db: Database) -> None:
    t = pending_payment(db)
    with db.unit() as uow:
        ticket = service.open_ticket(uow, t.user, "Hello", "Question")
    address = mailin.reply_address(db.settings, ticket.id)
    msg = EmailMessage()
    msg["From"] = str(t.user.email).upper()
    msg["To"] = "someone-else@example.com"
    msg["Message-ID"] = "<html-1@x>"
    msg.set_content("<p>Still <b>waiting</b></p><blockquote>old</blockquote>", subtype="html")
    added = mailin.take(db, msg.as_bytes(), [address])
    assert added.ticket_id == ticket.id and added.body.startswith("Still  waiting")
    with pytest.raises(InboundRefused):
        mailin.take(db, msg.as_bytes())  # no reply address anywhere


def test_quoted_history_is_cut() -> None:
    assert mailin.strip_quoted("ok\n\n在 2026年11月22日 09:00，客服 写道：\n> 你好") == "ok"
    assert mailin.strip_quoted("yes\r\n-----Original Message-----\r\nFrom: x") == "yes"
    assert mailin.strip_quoted("a\nb\n-- \nsig") == "a\nb"
    assert mailin.strip_quoted("> only quote") == ""
