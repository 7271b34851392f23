"""Asterisk's side of FastAGI, played by the tests (Asterisk itself cannot be installed here).

``FakeAsterisk`` connects to the hotline over TCP loopback, sends the ``agi_*`` variables of a
call byte for byte and a blank line, then answers each command with the line Asterisk would:
``200 result=<digits>`` for GET DATA (the keys the caller presses, one entry per GET DATA),
``200 result=0 endpos=…`` for STREAM FILE, ``200 result=0`` for SAY and ANSWER. It records every
command so a test can assert the exact sequence the hotline sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from topup.channels.ivr.server import HotlineServer
from topup.channels.ivr.session import Hotline

TIMEOUT = "(timeout)"  # a GET DATA entry: the caller pressed nothing
HANGS_UP = "-1"  # a GET DATA entry: the caller hangs up while asked
CALL_LIMIT = 20.0  # seconds any test call may take, whatever goes wrong


def environment(callerid: str, *, language: str = "en", script: str = "hotline",
                uniqueid: str = "1795330800.42") -> bytes:
    """The variables Asterisk sends for ``AGI(agi://127.0.0.1:4573/hotline)``."""
    pairs = [
        ("agi_network", "yes"), ("agi_network_script", script),
        ("agi_request", f"agi://127.0.0.1:4573/{script}"),
        ("agi_channel", "PJSIP/carrier-0000002a"), ("agi_language", language),
        ("agi_type", "PJSIP"), ("agi_uniqueid", uniqueid), ("agi_version", "20.9.3"),
        ("agi_callerid", callerid), ("agi_calleridname", "unknown"),
        ("agi_callingpres", "0"), ("agi_callingani2", "0"), ("agi_callington", "0"),
        ("agi_callingtns", "0"), ("agi_dnid", "4008200820"), ("agi_rdnis", "unknown"),
        ("agi_context", "from-carrier"), ("agi_extension", "4008200820"),
        ("agi_priority", "2"), ("agi_enhanced", "0.0"), ("agi_accountcode", ""),
        ("agi_threadid", "140213557110528"), ("agi_arg_1", "topup"),
    ]
    return "".join(f"{k}: {v}\n" for k, v in pairs).encode() + b"\n"


@dataclass
class FakeAsterisk:
    """One call as Asterisk plays it."""

    env: bytes
    keys: Sequence[str] = ()  # what each GET DATA gets, in order; then time-outs
    special: Callable[[int, str], str | None] | None = None  # (n, command) -> answer override
    delay: float = 0.0  # seconds before each answer (a slow or stuck Asterisk)
    commands: list[str] = field(default_factory=list)

    def answer(self, command: str) -> str:
        if command.startswith("GET DATA"):
            asked = sum(1 for c in self.commands if c.startswith("GET DATA"))
            key = self.keys[asked - 1] if asked <= len(self.keys) else TIMEOUT
            return f"200 result= {TIMEOUT}" if key == TIMEOUT else f"200 result={key}"
        if command.startswith("STREAM FILE"):
            return "200 result=0 endpos=16000"
        if command.startswith(("HANGUP", "SET VARIABLE")):
            return "200 result=1"
        return "200 result=0"

    async def call(self, port: int) -> list[str]:
        """Dial in; returns the commands received until the hotline closed the connection."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(self.env)
        await writer.drain()
        try:
            while line := await reader.readline():
                command = line.decode().rstrip("\n")
                self.commands.append(command)
                reply = self.special(len(self.commands), command) if self.special else None
                if reply == "":  # close without a word: the connection drops
                    break
                await asyncio.sleep(self.delay)
                writer.write((reply or self.answer(command)).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
        return self.commands


def place_call(hotline: Hotline, peer: FakeAsterisk, **server: float) -> list[str]:
    """Run the hotline on a free loopback port, make one call, and stop; bounded in time."""

    async def main() -> list[str]:
        hotline_server = HotlineServer(hotline, **server)
        listening = await hotline_server.start("127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        async with listening:
            commands = await asyncio.wait_for(peer.call(port), CALL_LIMIT)
            # The server finishes its side (closing the socket) before the test looks.
            for _ in range(200):
                if hotline_server.calls:
                    break
                await asyncio.sleep(0.01)
            assert hotline_server.calls == 1, "the call never finished on the server side"
            return commands

    return asyncio.run(main())
