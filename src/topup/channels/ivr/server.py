"""The FastAGI server: Asterisk connects once per call (``AGI(agi://host:4573/hotline)``).

One coroutine per call on one event loop (``asyncio.start_server``); each call has a time
limit, and Asterisk gets a limited time to answer each command, so a stuck call or a silent
peer never holds the server. A hangup at any point simply ends the call's coroutine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from topup.channels.ivr.agi import AgiChannel, AgiFailure, AgiHangup
from topup.channels.ivr.prompts import prompt
from topup.channels.ivr.session import Call, Hotline

log = logging.getLogger("topup.ivr")

DEFAULT_PORT = 4573
SCRIPTS = ("hotline", "")  # agi://host:4573/hotline, or no script name at all
GOODBYE_SECONDS = 5.0


class HotlineServer:
    """Serves hotline calls over FastAGI."""

    def __init__(self, hotline: Hotline, *, call_seconds: float = 600.0,
                 reply_seconds: float = 120.0) -> None:
        self.hotline = hotline
        self.call_seconds = call_seconds
        self.reply_seconds = reply_seconds
        self.calls = 0  # calls served so far (finished, however they ended)

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT
                    ) -> asyncio.Server:
        """Listen on ``host:port`` (port 0: any free port); the caller serves or closes it."""
        return await asyncio.start_server(self.handle, host, port)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
                     ) -> None:
        """One call, from the AGI environment to the last command."""
        chan = AgiChannel(reader, writer, reply_seconds=self.reply_seconds)
        try:
            await self._call(chan)
        finally:
            self.calls += 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _call(self, chan: AgiChannel) -> None:
        lang = "en"
        try:
            async with asyncio.timeout(self.call_seconds):
                env = await chan.read_environment()
                lang = env.get("language", "en")
                if env.get("network_script", "") not in SCRIPTS:
                    log.warning("no AGI script %r here", env.get("network_script"))
                    return
                await Call(self.hotline, chan, env).run()
            await chan.hangup()
        except AgiHangup as exc:
            log.info("call ended: %s", exc)
        except TimeoutError:
            log.warning("call stopped: over its time limit, or Asterisk stopped answering")
            await _last_words(chan, lambda: chan.hangup())
        except Exception:
            log.exception("hotline call failed")
            await _last_words(chan, lambda: _sorry(chan, lang))


async def _sorry(chan: AgiChannel, lang: str) -> None:
    await chan.stream_file(prompt("error", lang))
    await chan.hangup()


async def _last_words(chan: AgiChannel, say: Callable[[], Awaitable[None]]) -> None:
    """Tell Asterisk something before closing, if it still listens (briefly)."""
    try:
        async with asyncio.timeout(GOODBYE_SECONDS):
            await say()
    except (AgiHangup, AgiFailure, TimeoutError, ConnectionError):
        pass


async def serve(hotline: Hotline, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                call_seconds: float = 600.0, ready: Callable[[str], None] | None = None
                ) -> None:
    """Run the server until cancelled; ``ready`` is told the address once it listens."""
    server = await HotlineServer(hotline, call_seconds=call_seconds).start(host, port)
    address = ", ".join(str(s.getsockname()) for s in server.sockets)
    if ready is not None:
        ready(address)
    async with server:
        await server.serve_forever()
