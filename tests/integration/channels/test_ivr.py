"""The IVR hotline over FastAGI, against a test-side Asterisk on TCP loopback: the exact
command sequence for each call, hangups, time-outs, and a voucher redeemed by DTMF once."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import START
from tests.integration.channels.agi_peer import (
    HANGS_UP,
    TIMEOUT,
    FakeAsterisk,
    environment,
    place_call,
)
from tests.integration.channels.conftest import ANON_MSISDN, World, voucher_pins
from topup.channels.ivr.session import Hotline
from topup.orders.service import line_orders
from topup.subscribers import lines as line_svc

CALLER = "66812345678"  # agi_callerid as a carrier delivers it: digits, no plus
VALID_UNTIL = int((START + timedelta(days=180)).timestamp())  # a top-up's validity
MENU = "GET DATA topup/en/main-menu 5000 1"
GOODBYE = ['STREAM FILE topup/en/goodbye ""', "HANGUP"]
IDLE = [MENU, MENU, MENU, *GOODBYE]  # three silences at the menu end the call


def hotline(world: World, **timing: int) -> Hotline:
    return Hotline(world.db, {}, {}, **timing)


def play(*names: str, lang: str = "en") -> list[str]:
    return [f'STREAM FILE topup/{lang}/{n} ""' for n in names]


def test_balance_call_byte_for_byte(world: World) -> None:
    world.credit(100_50)
    peer = FakeAsterisk(environment(CALLER), keys=["1"])
    assert place_call(hotline(world), peer) == [
        "ANSWER", *play("welcome"), MENU,
        *play("balance-is"), 'SAY NUMBER 100 ""', *play("cur-CNY"), 'SAY NUMBER 50 ""',
        *play("cur-CNY-minor", "no-data", "valid-until"),
        f'SAY DATETIME {VALID_UNTIL} "" "BdY" UTC', *IDLE]


def test_chinese_from_agi_language_and_switching_language(world: World) -> None:
    peer = FakeAsterisk(environment(CALLER, language="zh_CN"), keys=["9", "1", TIMEOUT, "7"])
    zh_menu = "GET DATA topup/zh-CN/main-menu 5000 1"
    assert place_call(hotline(world), peer) == [
        "ANSWER", *play("welcome", lang="zh-CN"), zh_menu,
        "SET VARIABLE CHANNEL(language) en", *play("language-set"), MENU,
        *play("balance-is"), 'SAY NUMBER 0 ""', *play("cur-CNY", "no-data"),
        MENU, MENU, *play("invalid-choice"), MENU, *GOODBYE]


def test_a_stranger_and_a_frozen_line_hear_why_and_the_call_ends(world: World) -> None:
    stranger = FakeAsterisk(environment("66899999999"))
    assert place_call(hotline(world), stranger) == [
        "ANSWER", *play("unknown-caller"), "HANGUP"]
    withheld = FakeAsterisk(environment("unknown"))
    assert place_call(hotline(world), withheld) == ["ANSWER", *play("unknown-caller"), "HANGUP"]
    with world.db.unit() as uow:
        line_svc.freeze(uow, world.line.id, actor=world.admin.id, reason="lost SIM")
    frozen = FakeAsterisk(environment(CALLER))
    assert place_call(hotline(world), frozen) == ["ANSWER", *play("line-blocked"), "HANGUP"]


def test_hangup_mid_menu_in_every_way_asterisk_says_it(world: World) -> None:
    hangs_up = FakeAsterisk(environment(CALLER), keys=[HANGS_UP])
    assert place_call(hotline(world), hangs_up) == ["ANSWER", *play("welcome"), MENU]

    def hangup_line(n: int, command: str) -> str | None:
        return "HANGUP" if command.startswith("GET DATA") else None

    signalled = FakeAsterisk(environment(CALLER), special=hangup_line)
    assert place_call(hotline(world), signalled) == ["ANSWER", *play("welcome"), MENU]

    def dead(n: int, command: str) -> str | None:
        if command.startswith("SAY NUMBER"):
            return "511 Command Not Permitted on a dead channel or intercept routine"
        return None

    dead_channel = FakeAsterisk(environment(CALLER), keys=["1"], special=dead)
    assert place_call(hotline(world), dead_channel) == [
        "ANSWER", *play("welcome"), MENU, *play("balance-is"), 'SAY NUMBER 0 ""']

    def drop(n: int, command: str) -> str | None:
        return "" if n == 3 else None

    dropped = FakeAsterisk(environment(CALLER), special=drop)
    assert place_call(hotline(world), dropped) == ["ANSWER", *play("welcome"), MENU]


def test_time_outs_silent_caller_silent_asterisk_and_the_call_limit(world: World) -> None:
    silent = FakeAsterisk(environment(CALLER), keys=[TIMEOUT, TIMEOUT, TIMEOUT])
    assert place_call(hotline(world), silent) == ["ANSWER", *play("welcome"), *IDLE]

    stuck = FakeAsterisk(environment(CALLER), delay=1.0)
    assert place_call(hotline(world), stuck, reply_seconds=0.2) == ["ANSWER", "HANGUP"], \
        "Asterisk stopped answering: the hotline gives up and says so"
    slow = FakeAsterisk(environment(CALLER), keys=["1"] * 50, delay=0.05)
    commands = place_call(hotline(world), slow, call_seconds=1.0)
    assert commands[:3] == ["ANSWER", *play("welcome"), MENU]
    # 50 balance questions of a few commands each, 0.05 s a reply, would take 10 s or more:
    # cut off at the one-second limit, however few a busy machine got through by then
    assert commands[-1] == "HANGUP" and len(commands) < 40, "cut off at the call limit"


def test_a_voucher_redeemed_by_dtmf_credits_exactly_once(world: World) -> None:
    pin = voucher_pins(world, 1, face=88_00)[0]
    peer = FakeAsterisk(environment(CALLER, uniqueid="1795330800.77"),
                        keys=["2", pin, "2", pin])
    enter_pin = "GET DATA topup/en/enter-pin 8000 16"
    assert place_call(hotline(world), peer) == [
        "ANSWER", *play("welcome"), MENU, enter_pin,
        *play("voucher-credited"), 'SAY NUMBER 88 ""', *play("cur-CNY"),
        *play("new-balance-is"), 'SAY NUMBER 88 ""', *play("cur-CNY"),
        MENU, enter_pin, *play("voucher-used"), *IDLE]
    assert world.wallet() == 88_00
    with world.db.unit(readonly=True) as uow:
        orders = line_orders(uow, world.line.id, limit=10)
    assert [(o.method, o.channel, o.amount, o.state) for o in orders] == [
        ("voucher", "ivr", 88_00, "fulfilled")]


def test_wrong_pin_and_no_pin(world: World) -> None:
    peer = FakeAsterisk(environment(CALLER), keys=["2", "1234567890123452", "2", TIMEOUT])
    enter_pin = "GET DATA topup/en/enter-pin 8000 16"
    assert place_call(hotline(world), peer) == [
        "ANSWER", *play("welcome"), MENU, enter_pin, *play("voucher-invalid"),
        MENU, enter_pin, *play("invalid-choice"), *IDLE]
    assert world.wallet() == 0


def test_card_top_up_without_a_saved_card(world: World) -> None:
    for callerid in (CALLER, ANON_MSISDN.lstrip("+")):
        peer = FakeAsterisk(environment(callerid), keys=["3"])
        assert place_call(hotline(world), peer) == [
            "ANSWER", *play("welcome"), MENU, *play("no-saved-card"), *IDLE]


def test_a_call_for_another_agi_script_is_left_alone(world: World) -> None:
    peer = FakeAsterisk(environment(CALLER, script="voicemail"))
    assert place_call(hotline(world), peer) == []
