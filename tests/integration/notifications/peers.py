"""Real servers on loopback for the senders to talk to: an SMTP server (aiosmtpd) and an SMSC
(smpp34's SMPP 3.4 server), each recording what arrived and able to stall on cue."""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import smpp34
from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (aiosmtpd refuses port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    """One message the SMTP server accepted."""

    message_id: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class SmtpPeer:
    """An SMTP server that stores every message it accepts.

    ``hold_data_at=n``: the n-th DATA is stored (accepted) but the 250 reply waits for
    ``release``. ``hold_rcpt_at=n``: the n-th RCPT waits, so that message is never accepted
    until released. ``refuse`` maps recipients to the reply RCPT gets.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.hold_data_at = 0
        self.hold_rcpt_at = 0
        self.reached = threading.Event()
        self._release = threading.Event()
        self._datas = 0
        self._rcpts = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def _hold(self) -> None:
        self.reached.set()
        await asyncio.get_running_loop().run_in_executor(None, self._release.wait, 30)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        self._rcpts += 1
        if self._rcpts == self.hold_rcpt_at:
            await self._hold()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.content)
        msg = message_from_bytes(raw, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        self.received.append(Received(str(msg["Message-ID"]), list(envelope.rcpt_tos), raw, msg))
        self._datas += 1
        if self._datas == self.hold_data_at:
            await self._hold()
        return "250 2.0.0 queued"

    def release(self) -> None:
        self._release.set()

    def by_message_id(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = {}
        for r in self.received:
            found.setdefault(r.message_id, []).append(r)
        return found

    def start(self) -> SmtpPeer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.release()
        self.controller.stop()


@dataclass
class Submitted:
    """One ``submit_sm`` the SMSC accepted."""

    message_id: str
    destination: str
    source: str
    data_coding: int
    esm_class: int
    registered_delivery: int
    short_message: bytes


class SmscPeer:
    """An SMSC on loopback (smpp34 ``Server``) in a thread of its own: accepts every
    ``submit_sm`` (ids ``smsc-1``, ``smsc-2`` …) and can push ``deliver_sm`` to the bound ESME."""

    def __init__(self) -> None:
        self.port = free_port()
        self.submitted: list[Submitted] = []
        self.esmes: list[Any] = []
        self.bound = threading.Event()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    async def _serve(self) -> None:
        self._server = smpp34.Server("127.0.0.1", self.port)
        await self._server.start()
        self._ready.set()
        while True:
            event = await self._server.next()
            if isinstance(event, smpp34.Esme):
                self.esmes.append(event)
                self.bound.set()
            elif isinstance(event, smpp34.SubmitSmEvent):
                mid = f"smsc-{len(self.submitted) + 1}"
                self.submitted.append(Submitted(
                    mid, event.destination_addr, event.source_addr, event.data_coding,
                    event.esm_class, event.registered_delivery, bytes(event.short_message)))
                event.accept(mid)

    def start(self) -> SmscPeer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop)
        assert self._ready.wait(10), "the SMSC did not start"
        return self

    def deliver(self, short_message: bytes, **fields: Any) -> Future[Any]:
        """Push a ``deliver_sm`` to the last bound ESME; resolves when it answers (the
        ESME answers when it polls, so poll before waiting on the result)."""
        assert self.bound.wait(10), "no ESME is bound"

        async def push() -> Any:
            return await self.esmes[-1].deliver_sm(short_message=short_message, **fields)

        return asyncio.run_coroutine_threadsafe(push(), self._loop)

    def stop(self) -> None:
        async def halt() -> None:
            if self._server is not None:
                await self._server.stop()

        try:
            asyncio.run_coroutine_threadsafe(halt(), self._loop).result(5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
