"""SMS over SMPP 3.4 to a real SMSC on loopback (smpp34's server): Chinese as UCS-2, long
English as concatenated GSM parts, delivery receipts, and inbound keywords."""

from __future__ import annotations

import contextlib
import time
from concurrent.futures import Future
from typing import Any

from sqlalchemy import select

from tests.factories import make_line
from tests.integration.notifications.conftest import row, run_outbox
from tests.integration.notifications.peers import SmscPeer
from topup.channels.sms.keywords import handle_inbound
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications import service
from topup.notifications.delivery import claim, deliver
from topup.notifications.receipts import InboundRouter
from topup.notifications.senders.smpp import SmppSender
from topup.notifications.tables import submissions

ZH_REPLY = "余额：¥88.00\n流量：剩余3.5 GB，2026年11月29日到期"
LONG_EN = ("Your plan Thailand 7 days 10 GB is active on +66891234567. " * 6).strip()


def queue_sms(db: Database, to: str, text: str, language: str) -> int:
    with db.unit() as uow:
        return service.enqueue(uow, "sms", to, "selfservice_reply", language,
                               {"text": text, "keyword": "BAL"})


def answered(texter: SmppSender, future: Future[Any]) -> Any:
    """Poll the link until the SMSC has our answer to its deliver_sm."""
    deadline = time.monotonic() + 10
    while not future.done() and time.monotonic() < deadline:
        texter.poll()
        time.sleep(0.02)
    return future.result(1)


def test_chinese_arrives_as_ucs2_and_long_english_as_concatenated_gsm_parts(
        db: Database, smsc: SmscPeer, texter: SmppSender) -> None:
    zh = queue_sms(db, "+8613800138000", ZH_REPLY, "zh-CN")
    en = queue_sms(db, "+66891234567", LONG_EN, "en")
    assert len(LONG_EN) > 300
    assert run_outbox(db, {"sms": texter}) == 2

    first, *parts = smsc.submitted
    assert first.destination == "8613800138000" and first.source == "TOPUP"
    assert first.data_coding == 8 and first.esm_class == 0 and first.registered_delivery == 1
    assert first.short_message.decode("utf-16-be") == ZH_REPLY

    assert len(parts) == 3 and {p.destination for p in parts} == {"66891234567"}
    assert all(p.data_coding == 0 and p.esm_class == 0x40 for p in parts)
    ref = en % 256
    assert [p.short_message[:6] for p in parts] == [
        bytes([5, 0, 3, ref, 3, seq]) for seq in (1, 2, 3)]
    assert all(len(p.short_message) - 6 <= 153 for p in parts)
    assert b"".join(p.short_message[6:] for p in parts).decode("ascii") == LONG_EN

    assert row(db, zh).provider_message_id == first.message_id
    sent = row(db, en)
    assert sent.state == "sent" and sent.delivery_state == "SUBMITTED"
    assert sent.provider_message_id == parts[0].message_id


def test_receipts_update_each_part_and_the_message(db: Database, smsc: SmscPeer,
                                                    texter: SmppSender) -> None:
    texter.attach(InboundRouter(db, None))
    en = queue_sms(db, "+66891234567", "Short English reply", "en")
    long_en = queue_sms(db, "+66891234567", "x" * 200, "en")
    run_outbox(db, {"sms": texter})
    one, two, three = (s.message_id for s in smsc.submitted)

    def receipt(mid: str, stat: str, **extra: Any) -> Any:
        text = (f"id:{mid} sub:001 dlvrd:001 submit date:2611220800 done date:2611220801 "
                f"stat:{stat} err:000 text:")
        return answered(texter, smsc.deliver(text.encode(), source_addr="66891234567",
                                             destination_addr="TOPUP", esm_class=4, **extra))

    assert receipt(one, "DELIVRD").command_status == 0
    assert row(db, en).delivery_state == "DELIVRD"
    receipt(two, "DELIVRD")
    assert row(db, long_en).delivery_state == "SUBMITTED"  # one part of two delivered
    receipt(three, "UNDELIV")
    found = row(db, long_en)
    assert found.delivery_state == "UNDELIV" and found.delivery_reported_at is not None
    with db.unit(readonly=True) as uow:
        states = dict(uow.conn.execute(select(submissions.c.part, submissions.c.delivery_state)
                                       .where(submissions.c.outbox_id == long_en)).all())
    assert states == {1: "DELIVRD", 2: "UNDELIV"}


def test_inbound_keyword_reaches_the_sms_handler_and_the_reply_goes_out(
        db: Database, smsc: SmscPeer, texter: SmppSender) -> None:
    make_line(db, country="TH", msisdn="66891234567")
    texter.attach(InboundRouter(db, handle_inbound))
    texter.poll()  # bind, so the SMSC has someone to deliver to
    resp = answered(texter, smsc.deliver("帮助".encode("utf-16-be"), data_coding=8,
                                         source_addr="66891234567", source_addr_ton=1,
                                         destination_addr="TOPUP"))
    assert resp.command_status == 0
    with db.unit(readonly=True) as uow:
        queued = service.queued_for(uow, "+66891234567")
    assert [(m["template"], m["language"]) for m in queued] == [("selfservice_reply", "zh-CN")]
    run_outbox(db, {"sms": texter})
    reply = smsc.submitted[-1]
    assert reply.destination == "66891234567" and reply.data_coding == 8
    assert reply.short_message.decode("utf-16-be") == queued[0]["params"]["text"]


def test_a_handler_that_fails_makes_the_smsc_retry(db: Database, smsc: SmscPeer,
                                                    texter: SmppSender) -> None:
    def broken(db: Database, sender: str, text: str) -> None:
        raise RuntimeError("database is away")

    texter.attach(InboundRouter(db, broken))
    texter.poll()
    resp = answered(texter, smsc.deliver(b"BAL", source_addr="66891234567",
                                         destination_addr="TOPUP"))
    assert resp.command_status == 0x64  # ESME_RX_T_APPN: try again later


def test_a_worker_that_dies_between_parts_resumes_after_the_last_accepted_one(
        db: Database, clock: FrozenClock, smsc: SmscPeer, texter: SmppSender) -> None:
    msg = queue_sms(db, "+66891234567", LONG_EN, "en")
    [claimed] = claim(db, "doomed", 10)

    class DiesAfterFirstPart:
        channel, name = "sms", "doomed"

        def send(self, message: Any, accepted: Any) -> None:
            def once(part: int, parts: int, provider_id: str) -> None:
                accepted(part, parts, provider_id)
                raise SystemExit("killed")  # the process dies right after part 1 is recorded

            texter.send(message, once)

        def close(self) -> None:
            return None

    with contextlib.suppress(SystemExit):
        deliver(db, DiesAfterFirstPart(), claimed, "doomed")
    assert row(db, msg).state == "sending" and len(smsc.submitted) == 1
    assert run_outbox(db, {"sms": texter}) == 0  # still leased to the dead worker
    clock.advance(seconds=db.settings.notify_lease_seconds + 1)
    assert run_outbox(db, {"sms": texter}) == 1
    parts = smsc.submitted
    assert [p.short_message[5] for p in parts] == [1, 2, 3]  # no part twice
    assert len({p.short_message[3] for p in parts}) == 1  # one reference: one message
    assert b"".join(p.short_message[6:] for p in parts).decode() == LONG_EN
    done = row(db, msg)
    assert done.state == "sent" and done.attempts == 2
    assert done.provider_message_id == parts[0].message_id
