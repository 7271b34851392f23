"""Each sender conforms to the ports; back-off doubles up to its cap."""

from __future__ import annotations

import io

from topup.notifications.delivery import backoff_seconds
from topup.notifications.interfaces import Email, Receives, Sender, Sms
from topup.notifications.senders.console import ConsoleSender
from topup.notifications.senders.smpp import SmppConfig, SmppSender
from topup.notifications.senders.smtp import SmtpConfig, SmtpSender, build_message


def test_every_sender_is_a_sender_and_smpp_also_receives() -> None:
    smtp = SmtpSender(SmtpConfig("127.0.0.1"))
    smpp = SmppSender(SmppConfig("127.0.0.1"))
    console = ConsoleSender("sms")
    for sender, channel in ((smtp, "email"), (smpp, "sms"), (console, "sms")):
        assert isinstance(sender, Sender) and sender.channel == channel
    assert isinstance(smpp, Receives)
    assert not isinstance(smtp, Receives) and not isinstance(console, Receives)


def test_the_console_prints_and_reports_acceptance() -> None:
    out = io.StringIO()
    accepted: list[tuple[int, int, str]] = []
    ConsoleSender("sms", out).send(Sms(5, "+66891234567", "您好"), lambda *a: accepted.append(a))
    assert "SMS to: +66891234567" in out.getvalue() and "您好" in out.getvalue()
    assert accepted == [(1, 1, "console-5")]


def test_mime_keeps_the_message_id_and_language() -> None:
    msg = build_message(Email(9, "a@example.com", "主题", "text", "<p>html</p>", "zh-CN",
                              "<outbox-9.x@example.com>"), "noreply@example.com", "运营商")
    assert msg["Message-ID"] == "<outbox-9.x@example.com>"
    assert msg["Content-Language"] == "zh-CN" and msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"


def test_source_address_kinds() -> None:
    assert SmppConfig("h", source_addr="TOPUP").source_ton_npi() == (5, 0)
    assert SmppConfig("h", source_addr="10086").source_ton_npi() == (3, 0)
    assert SmppConfig("h", source_addr="+8613800138000").source_ton_npi() == (1, 1)


def test_back_off_doubles_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 30, 3600) for n in range(1, 10)] == [
        30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
