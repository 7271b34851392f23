"""The FastAGI wire protocol (Asterisk's AGI over TCP), the side of the AGI script.

Asterisk connects, sends ``agi_<name>: <value>`` lines and a blank line, then waits for one
command at a time (a line ending in ``\\n``) and answers each with ``200 result=<r> [data]``.
What ends a call here: ``result=-1`` (the caller hung up during the command), a ``HANGUP`` line
(Asterisk tells a FastAGI script the channel hung up), ``511`` (dead channel), or the
connection closing. ``510`` (unknown command) and ``520`` (usage; a multi-line ``520-`` block)
are refusals of the command itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass

log = logging.getLogger("topup.ivr")

MAX_ENV_LINES = 200
MAX_LINE = 8192
_REPLY = re.compile(r"^(\d{3})(?: result=(\S*))?\s*(.*)$")


class AgiHangup(Exception):
    """The caller hung up, or Asterisk closed the connection: send nothing more."""


class AgiFailure(Exception):
    """Asterisk refused a command (510 invalid, 520 usage) or answered something unreadable."""


@dataclass(frozen=True)
class AgiReply:
    """One answer: ``200 result=1 (timeout)`` is code 200, result ``1``, data ``(timeout)``."""

    code: int
    result: str
    data: str

    @property
    def timed_out(self) -> bool:
        return "(timeout)" in self.data


def parse_reply(line: str) -> AgiReply:
    """Read one answer line; AgiFailure when it is not ``<code> [result=…] […]``."""
    match = _REPLY.match(line.strip())
    if match is None:
        raise AgiFailure(f"unreadable AGI reply {line!r}")
    return AgiReply(int(match.group(1)), match.group(2) or "", match.group(3))


def quoted(value: str) -> str:
    """An argument as AGI reads it: in double quotes (``""`` for none)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """One call's connection: read the environment, then send commands and read answers."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *,
                 reply_seconds: float = 120.0) -> None:
        self.reader, self.writer, self.reply_seconds = reader, writer, reply_seconds

    async def _line(self, timeout: float) -> str:
        try:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
        except ConnectionError as exc:
            raise AgiHangup("connection lost") from exc
        except ValueError as exc:  # a line beyond the reader's limit
            raise AgiFailure("AGI line too long") from exc
        if not raw:
            raise AgiHangup("connection closed")
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    async def read_environment(self) -> dict[str, str]:
        """The ``agi_*`` variables, keyed without the prefix (``callerid``, ``language``…)."""
        env: dict[str, str] = {}
        for _ in range(MAX_ENV_LINES):
            line = await self._line(self.reply_seconds)
            if not line:
                return env
            name, _, value = line.partition(":")
            if name.startswith("agi_"):
                env[name[4:]] = value.strip()[:MAX_LINE]
        raise AgiFailure("the AGI environment never ended")

    async def command(self, *words: str, wait: float = 0.0) -> AgiReply:
        """Send one command and read its answer (waiting ``wait`` seconds longer than usual,
        for commands that wait for the caller)."""
        text = " ".join(words)
        try:
            self.writer.write(text.encode() + b"\n")
            await self.writer.drain()
        except ConnectionError as exc:
            raise AgiHangup("connection lost") from exc
        line = await self._line(self.reply_seconds + wait)
        if line.strip() == "HANGUP":
            raise AgiHangup("the caller hung up")
        if line.startswith("520-"):
            while not (await self._line(self.reply_seconds)).startswith("520 "):
                pass
            raise AgiFailure(f"{text}: usage error")
        reply = parse_reply(line)
        if reply.code == 511:
            raise AgiHangup("dead channel")
        if reply.code != 200:
            raise AgiFailure(f"{text}: {line}")
        return reply

    async def answer(self) -> None:
        """Pick up the call."""
        if (await self.command("ANSWER")).result == "-1":
            raise AgiHangup("hung up before the answer")

    async def stream_file(self, name: str, escape: str = "") -> str | None:
        """Play a prompt; the digit that interrupted it, if one of ``escape`` was pressed.

        A missing prompt file answers ``result=-1 endpos=0``: the call goes on without it (a
        real hangup shows in the next command's answer)."""
        reply = await self.command("STREAM FILE", name, quoted(escape))
        if reply.result == "-1":
            if reply.data.strip() == "endpos=0":
                log.warning("prompt %s could not be played (missing file?)", name)
                return None
            raise AgiHangup("hung up during a prompt")
        code = int(reply.result or 0)
        return chr(code) if code > 0 else None

    async def get_data(self, name: str, timeout_ms: int, max_digits: int) -> str:
        """Play a prompt and collect up to ``max_digits`` DTMF digits (``#`` ends early);
        ``""`` when the caller pressed nothing in time."""
        reply = await self.command("GET DATA", name, str(timeout_ms), str(max_digits),
                                   wait=timeout_ms / 1000 * (max_digits + 1))
        if reply.result == "-1":
            raise AgiHangup("hung up while entering digits")
        return "".join(c for c in reply.result if c.isdigit() or c in "*#")

    async def _say(self, *words: str) -> None:
        if (await self.command(*words)).result == "-1":
            raise AgiHangup("hung up while listening")

    async def say_number(self, number: int) -> None:
        """Speak a whole number in the channel's language."""
        await self._say("SAY NUMBER", str(number), quoted(""))

    async def say_digits(self, digits: str) -> None:
        """Speak digits one by one (a card's last four)."""
        await self._say("SAY DIGITS", digits, quoted(""))

    async def say_date(self, epoch: int, fmt: str) -> None:
        """Speak a date in the channel's language, as ``fmt`` orders it (UTC)."""
        await self._say("SAY DATETIME", str(epoch), quoted(""), quoted(fmt), "UTC")

    async def set_language(self, tag: str) -> None:
        """Switch the channel's language, which ``SAY NUMBER`` and friends speak."""
        await self.command("SET VARIABLE", "CHANNEL(language)", tag)

    async def hangup(self) -> None:
        """End the call; an already dead channel is fine."""
        with contextlib.suppress(AgiHangup, AgiFailure, TimeoutError):
            await self.command("HANGUP")
