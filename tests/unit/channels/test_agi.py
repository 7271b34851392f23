"""The FastAGI protocol reader/writer on canned Asterisk answers: the environment, answer lines,
time-outs, hangups (result -1, a HANGUP line, 511, a closed connection) and 510/520 refusals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from topup.channels.ivr.agi import AgiChannel, AgiFailure, AgiHangup, AgiReply, parse_reply, quoted
from topup.channels.ivr.prompts import PROMPTS, currency_prompt, prompt, prompt_list
from topup.config import Settings

T = TypeVar("T")


class Sent:
    """The writer's side: what the script sent."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


def run(answers: bytes, work: Callable[[AgiChannel], Awaitable[T]]) -> tuple[T, bytes]:
    async def main() -> tuple[T, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(answers)
        reader.feed_eof()
        sent = Sent()
        chan = AgiChannel(reader, sent, reply_seconds=1.0)  # type: ignore[arg-type]
        return await asyncio.wait_for(work(chan), 5), bytes(sent.data)
    return asyncio.run(main())


def test_answer_lines() -> None:
    assert parse_reply("200 result=0 endpos=16000") == AgiReply(200, "0", "endpos=16000")
    assert parse_reply("200 result=1234#") == AgiReply(200, "1234#", "")
    assert parse_reply("200 result= (timeout)").timed_out
    assert parse_reply("200 result=12 (timeout)") == AgiReply(200, "12", "(timeout)")
    assert parse_reply("510 Invalid or unknown command") == AgiReply(
        510, "", "Invalid or unknown command")
    with pytest.raises(AgiFailure):
        parse_reply("hello")
    assert quoted("") == '""' and quoted('a"b') == '"a\\"b"'


def test_environment_then_commands_byte_for_byte() -> None:
    env = b"agi_network: yes\nagi_callerid: 66812345678\nagi_language: zh\nagi_arg_1: x y\n\n"
    answers = env + b"200 result=0\n200 result=49 endpos=800\n200 result=15 (timeout)\n"

    async def work(chan: AgiChannel) -> Any:
        return (await chan.read_environment(), await chan.answer(),
                await chan.stream_file("topup/en/welcome", "12"),
                await chan.get_data("topup/en/enter-pin", 8000, 16))

    (found, _, pressed, digits), sent = run(answers, work)
    assert found == {"network": "yes", "callerid": "66812345678", "language": "zh",
                     "arg_1": "x y"}
    assert (pressed, digits) == ("1", "15")
    assert sent == (b'ANSWER\nSTREAM FILE topup/en/welcome "12"\n'
                    b"GET DATA topup/en/enter-pin 8000 16\n")


def test_says_and_language() -> None:
    async def work(chan: AgiChannel) -> None:
        await chan.say_number(1205)
        await chan.say_digits("4242")
        await chan.say_date(1795330800, "BdY")
        await chan.set_language("zh")

    _, sent = run(b"200 result=0\n" * 3 + b"200 result=1\n", work)
    assert sent == (b'SAY NUMBER 1205 ""\nSAY DIGITS 4242 ""\n'
                    b'SAY DATETIME 1795330800 "" "BdY" UTC\nSET VARIABLE CHANNEL(language) zh\n')


@pytest.mark.parametrize("answer", [b"200 result=-1\n", b"HANGUP\n", b"", b"511 Command Not "
                                    b"Permitted on a dead channel or intercept routine\n"])
def test_every_kind_of_hangup(answer: bytes) -> None:
    with pytest.raises(AgiHangup):
        run(answer, lambda chan: chan.get_data("topup/en/main-menu", 5000, 1))


def test_refusals_and_a_missing_prompt() -> None:
    usage = (b"520-Invalid command syntax.  Proper usage follows:\n"
             b"Usage: GET DATA <file to be streamed> [timeout] [max digits]\n"
             b"520 End of proper usage.\n200 result=0\n")

    async def work(chan: AgiChannel) -> Any:
        with pytest.raises(AgiFailure):
            await chan.command("GET DATA")
        return await chan.command("ANSWER")

    reply, _ = run(usage, work)
    assert reply.result == "0", "the block is read to its end: the next answer is in step"
    with pytest.raises(AgiFailure):
        run(b"510 Invalid or unknown command\n", lambda chan: chan.command("DANCE"))
    missing, _ = run(b"200 result=-1 endpos=0\n", lambda chan: chan.stream_file("topup/x/y"))
    assert missing is None
    with pytest.raises(AgiHangup):
        run(b"200 result=-1 endpos=4000\n", lambda chan: chan.stream_file("topup/en/welcome"))
    run(b"", lambda chan: chan.hangup())  # hanging up a dead call is fine


def test_silence_from_asterisk_is_a_time_out() -> None:
    async def main() -> None:
        chan = AgiChannel(asyncio.StreamReader(), Sent(), reply_seconds=0.05)  # type: ignore[arg-type]
        with pytest.raises(TimeoutError):
            await chan.command("ANSWER")

    asyncio.run(main())


def test_prompt_names() -> None:
    assert prompt("balance-is", "zh_CN") == "topup/zh-CN/balance-is"
    assert currency_prompt("CNY", "en", minor=True) == "topup/en/cur-CNY-minor"
    names = [name for name, _, _ in prompt_list(("CNY", "JPY", "KRW"))]
    assert names[: len(PROMPTS)] == list(PROMPTS)
    assert names[len(PROMPTS):] == ["cur-CNY", "cur-CNY-minor", "cur-JPY", "cur-KRW"]


def test_the_operator_guide_lists_every_prompt_file() -> None:
    guide = (Path(__file__).parents[3] / "docs" / "offline-channels.md").read_text()
    currencies = Settings.__dataclass_fields__["currencies"].default
    for name, en, zh in prompt_list(currencies):
        assert f"| `{name}` | {en} | {zh} |" in guide, name
