"""E-mail over SMTP to a real server on loopback (aiosmtpd): what the receiver sees, in en and
zh-CN; refusals, back-off, dead letters and their retry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from tests.integration.notifications.conftest import row, run_outbox
from tests.integration.notifications.peers import SmtpPeer, free_port
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications import service
from topup.notifications.senders.smtp import SmtpConfig, SmtpSender

TOPUP_PARAMS = {
    "order_id": 7, "kind": "topup", "renewal": False, "amount": 100_00, "currency": "CNY",
    "credited_amount": 100_00, "credited_currency": "CNY", "balance": 250_00,
    "balance_currency": "CNY", "plan_name": None, "valid_until": "2027-05-21T08:00:00+00:00",
    "number": "+8613800138000",
}


def queue(db: Database, to: str, template: str, language: str, params: dict) -> int:
    with db.unit() as uow:
        return service.enqueue(uow, "email", to, template, language, params)


def test_reset_code_in_english_and_top_up_in_chinese_arrive_as_multipart_utf8(
        db: Database, smtp: SmtpPeer, mailer: SmtpSender) -> None:
    en = queue(db, "alice@example.com", "password_reset", "en", {"code": "493817", "minutes": 10})
    zh = queue(db, "wang@example.cn", "order_fulfilled", "zh-CN", TOPUP_PARAMS)
    assert run_outbox(db, {"email": mailer}) == 2
    got = {r.rcpt_tos[0]: r for r in smtp.received}
    assert set(got) == {"alice@example.com", "wang@example.cn"}

    alice = got["alice@example.com"].message
    assert alice["Subject"] == "topup: your password reset code"
    assert alice.get_content_type() == "multipart/alternative"
    text, html = (alice.get_body(("plain",)), alice.get_body(("html",)))
    assert text is not None and html is not None
    assert "Your password reset code is 493817" in text.get_content()
    assert "493817" in html.get_content() and '<html lang="en">' in html.get_content()
    assert alice["Content-Language"] == "en"

    wang = got["wang@example.cn"]
    assert wang.message["Subject"] == "topup：充值¥100.00已到账"
    # Non-ASCII headers travel RFC 2047-encoded; the From name too.
    head = wang.raw.split(b"\r\n\r\n", 1)[0]
    assert b"Subject: =?utf-8?" in head and "环球通".encode() not in head
    assert wang.message["From"].addresses[0].display_name == "环球通 Travel"
    body = wang.message.get_body(("plain",))
    assert body is not None
    zh_text = body.get_content()
    assert "您的号码 +8613800138000 已充值 ¥100.00。" in zh_text
    assert "余额：¥250.00" in zh_text and "号码有效期至：2027年5月21日" in zh_text
    zh_html = wang.message.get_body(("html",))
    assert zh_html is not None and '<html lang="zh-CN">' in zh_html.get_content()

    for outbox_id, received in ((en, got["alice@example.com"]), (zh, wang)):
        sent = row(db, outbox_id)
        assert sent.state == "sent" and sent.sent_at is not None and sent.attempts == 1
        assert sent.provider_message_id == received.message_id
        assert received.message_id.startswith(f"<outbox-{outbox_id}.")


def test_html_escapes_params_and_text_keeps_them(db: Database, smtp: SmtpPeer,
                                                  mailer: SmtpSender) -> None:
    params = {**TOPUP_PARAMS, "kind": "plan", "plan_name": "Asia <b>10 GB</b> & more"}
    queue(db, "bob@example.com", "order_fulfilled", "en", params)
    run_outbox(db, {"email": mailer})
    msg = smtp.received[0].message
    html, text = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html is not None and text is not None
    assert "Asia &lt;b&gt;10 GB&lt;/b&gt; &amp; more" in html.get_content()
    assert "Your plan Asia <b>10 GB</b> & more on line" in text.get_content()


def test_refused_recipient_is_dead_at_once_and_deferred_one_backs_off(
        db: Database, clock: FrozenClock, smtp: SmtpPeer, mailer: SmtpSender) -> None:
    smtp.refuse["nobody@example.com"] = "550 5.1.1 no such user"
    smtp.refuse["busy@example.com"] = "451 4.3.0 try later"
    gone = queue(db, "nobody@example.com", "password_reset", "en", {"code": "1", "minutes": 1})
    later = queue(db, "busy@example.com", "password_reset", "en", {"code": "2", "minutes": 1})
    run_outbox(db, {"email": mailer})
    dead, waiting = row(db, gone), row(db, later)
    assert dead.state == "dead" and "550" in dead.last_error and dead.attempts == 1
    assert waiting.state == "queued" and "451" in waiting.last_error
    assert waiting.next_attempt_at == clock.now + timedelta(seconds=30)
    assert run_outbox(db, {"email": mailer}) == 0  # not due yet
    del smtp.refuse["busy@example.com"]
    clock.advance(seconds=30)
    assert run_outbox(db, {"email": mailer}) == 1
    assert row(db, later).state == "sent" and row(db, later).attempts == 2
    assert [r.rcpt_tos for r in smtp.received] == [["busy@example.com"]]


def test_server_down_backs_off_doubling_until_dead_then_an_operator_retries(
        db: Database, clock: FrozenClock, smtp: SmtpPeer) -> None:
    db.settings = replace(db.settings, notify_max_attempts=3)
    down = SmtpSender(SmtpConfig("127.0.0.1", free_port(), timeout=2))  # nobody listens
    msg = queue(db, "carol@example.com", "password_reset", "en", {"code": "3", "minutes": 1})
    waits = []
    for _ in range(3):
        start = clock.now
        run_outbox(db, {"email": down})
        found = row(db, msg)
        if found.state == "queued":
            waits.append((found.next_attempt_at - start).total_seconds())
            clock.now = found.next_attempt_at
    assert waits == [30, 60]
    assert row(db, msg).state == "dead" and row(db, msg).attempts == 3
    with db.unit() as uow:
        assert [m.id for m in service.list_messages(uow, state="dead")] == [msg]
        service.retry(uow, msg)
    good = SmtpSender(SmtpConfig("127.0.0.1", smtp.port))
    try:
        assert run_outbox(db, {"email": good}) == 1
    finally:
        good.close()
    assert row(db, msg).state == "sent" and len(smtp.received) == 1
