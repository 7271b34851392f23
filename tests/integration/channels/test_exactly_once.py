"""One scratch card tried at the same moment over USSD, the IVR hotline and SMS (and twice over
each): the line is credited once, one caller hears it worked, every other is told it is used."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.channels.agi_peer import FakeAsterisk, environment, place_call
from tests.integration.channels.conftest import MSISDN, USSD_TOKEN, World, voucher_pins
from topup.channels.ivr.session import Hotline
from topup.channels.selfservice import replies
from topup.channels.sms.keywords import handle_inbound
from topup.orders.service import line_orders

CREDITED = 'STREAM FILE topup/en/voucher-credited ""'
USED_PROMPTS = {'STREAM FILE topup/en/voucher-used ""', 'STREAM FILE topup/en/voucher-busy ""'}
USED_TEXTS = {"This voucher has already been used.",
              "This voucher is being redeemed right now. Check your balance in a minute."}


def test_one_card_through_every_channel_at_once_credits_once(world: World) -> None:
    pin = voucher_pins(world, 1, face=60_00)[0]
    answers: list[str] = []

    def by_ussd(n: int) -> None:
        r = world.api.client.post("/api/v1/ussd", headers={"X-Gateway-Token": USSD_TOKEN}, data={
            "sessionId": f"race-{n}", "serviceCode": f"*123*{pin}#", "phoneNumber": MSISDN,
            "text": ""})
        answers.append(r.text.removeprefix("END "))

    def by_sms(n: int) -> None:
        answers.append(handle_inbound(world.db, MSISDN, f"TOPUP {pin}", message_id=f"m-{n}"))

    def by_ivr(n: int) -> None:
        peer = FakeAsterisk(environment(MSISDN.lstrip("+"), uniqueid=f"race.{n}"),
                            keys=["2", pin])
        commands = place_call(Hotline(world.db, {}, {}), peer)
        heard = [c for c in commands if c == CREDITED or c in USED_PROMPTS]
        answers.append("credited" if heard == [CREDITED] else "used" if heard else "?")

    tries: list[Callable[[int], None]] = [by_ussd, by_sms, by_ivr] * 2
    threads = [threading.Thread(target=go, args=(n,)) for n, go in enumerate(tries)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    successes = [a for a in answers if a == "credited" or "Balance CN¥60.00" in a]
    assert len(answers) == 6 and len(successes) == 1, answers
    assert all(a in USED_TEXTS or a == "used" for a in answers if a not in successes), answers
    assert world.wallet() == 60_00
    with world.db.unit(readonly=True) as uow:
        assert len(line_orders(uow, world.line.id, limit=10)) == 1


class LostReply:
    """Makes the first voucher reply fail after the card was spent (a crash, a lost
    connection): the reply and the work must stand or fall together."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failures = 1
        self.real = replies.redeemed_text
        monkeypatch.setattr(replies, "redeemed_text", self)

    def __call__(self, *args: Any, **kw: Any) -> str:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("the process died before the reply was stored")
        return self.real(*args, **kw)


def test_a_retransmitted_ussd_request_gets_its_reply_even_after_a_crash(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    pin = voucher_pins(world, 1, face=40_00)[0]
    LostReply(monkeypatch)
    form = {"sessionId": "ATU-lost", "serviceCode": f"*123*{pin}#", "phoneNumber": MSISDN,
            "text": ""}
    headers = {"X-Gateway-Token": USSD_TOKEN}
    lost = world.api.client.post("/api/v1/ussd", data=form, headers=headers)
    assert lost.text == "END Sorry, that did not work. Please try again later."
    again = world.api.client.post("/api/v1/ussd", data=form, headers=headers)
    third = world.api.client.post("/api/v1/ussd", data=form, headers=headers)
    assert again.text.endswith(": CN¥40.00 added. Balance CN¥40.00."), again.text
    assert third.text == again.text
    assert world.wallet() == 40_00


def test_a_redelivered_sms_gets_its_reply_even_after_a_crash(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    pin = voucher_pins(world, 1, face=40_00)[0]
    LostReply(monkeypatch)
    with pytest.raises(RuntimeError):
        handle_inbound(world.db, MSISDN, f"TOPUP {pin}", message_id="smsc-lost")
    assert world.outbox() == [] and world.wallet() == 0, "nothing done without its reply"
    again = handle_inbound(world.db, MSISDN, f"TOPUP {pin}", message_id="smsc-lost")
    assert again.endswith(": CN¥40.00 added. Balance CN¥40.00."), again
    assert handle_inbound(world.db, MSISDN, f"TOPUP {pin}", message_id="smsc-lost") == again
    assert [m["params"]["text"] for m in world.outbox()] == [again], "one reply SMS"
    assert world.wallet() == 40_00
