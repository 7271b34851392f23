"""SMS over SMPP 3.4 with ``smpplib``: one bound transceiver session, kept alive.

- ``bind_transceiver`` on first use, again after any failure (the next send or poll
  reconnects); ``enquire_link`` when the link has been quiet for ``enquire_link_seconds``.
- ``submit_sm`` per part with ``registered_delivery=1`` (a receipt for each), GSM 03.38 or
  UCS-2 and UDH concatenation (``sms_encoding``); each part is reported accepted the moment its
  ``submit_sm_resp`` carries the SMSC's message id.
- ``deliver_sm`` from the SMSC: a receipt (``esm_class`` receipt bits) or a traveller's SMS,
  handed to the attached ``InboundHandler``; ``deliver_sm_resp`` is sent only after the
  handler returned, with ``ESME_RX_T_APPN`` (the SMSC retries later) when it raised.

Everything runs on the worker's thread: no listener thread shares the socket, so PDUs are
read in two places only, while waiting for a response and in ``poll``.
"""

from __future__ import annotations

import contextlib
import logging
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

from topup.notifications.errors import PermanentFailure, TemporaryFailure
from topup.notifications.interfaces import Accepted, InboundHandler, InboundSms, Message, Sms
from topup.notifications.senders import sms_encoding as enc
from topup.notifications.senders.smpp_receipts import is_receipt, parse_receipt

log = logging.getLogger(__name__)
C = smpplib.consts
_LINK_ERRORS = (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError)
# Statuses that no retry will change: the address or the message itself is refused.
_PERMANENT = frozenset({C.SMPP_ESME_RINVMSGLEN, C.SMPP_ESME_RINVDSTADR, C.SMPP_ESME_RINVDSTTON,
                        C.SMPP_ESME_RINVDSTNPI, C.SMPP_ESME_RINVESMCLASS,
                        C.SMPP_ESME_RX_P_APPN, C.SMPP_ESME_RX_R_APPN})
_PARTIAL_TTL = 600.0  # seconds a part of a long inbound SMS waits for the others


@dataclass(frozen=True)
class SmppConfig:
    """The SMSC and our account on it (``TOPUP_SMPP_*``)."""

    host: str
    port: int = 2775
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    source_addr: str = ""
    enquire_link_seconds: float = 30.0
    response_timeout: float = 10.0

    def source_ton_npi(self) -> tuple[int, int]:
        """TON/NPI of our address: alphanumeric (5/0), short code (3/0), or international."""
        if not self.source_addr.lstrip("+").isdigit():
            return 5, 0
        return (3, 0) if len(self.source_addr.lstrip("+")) <= 8 else (1, 1)


def _text(value: Any) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value or "")


class SmppSender:
    """``Sender`` for channel ``sms`` that also ``Receives`` receipts and inbound SMS."""

    channel = "sms"
    name = "smpp"

    def __init__(self, config: SmppConfig, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._now = monotonic
        self._client: Any = None
        self._handler: InboundHandler | None = None
        self._last_io = 0.0
        self._partial: dict[tuple[str, int], tuple[float, dict[int, str]]] = {}

    def attach(self, handler: InboundHandler) -> None:
        """Receipts and inbound messages go to ``handler`` from now on."""
        self._handler = handler

    # -- the session ---------------------------------------------------------------------
    def _bound(self) -> Any:
        if self._client is not None:
            return self._client
        c = self.config
        client = smpplib.client.Client(c.host, c.port, timeout=c.response_timeout,
                                       allow_unknown_opt_params=True)
        try:
            client.connect()
            client.bind_transceiver(system_id=c.system_id, password=c.password,
                                    system_type=c.system_type)
        except (*_LINK_ERRORS, TimeoutError) as exc:
            self._disconnect(client)
            raise TemporaryFailure(f"SMPP bind to {c.host}:{c.port} failed: {exc}") from exc
        log.info("SMPP bound to %s:%s as %r", c.host, c.port, c.system_id)
        self._client, self._last_io = client, self._now()
        return client

    @staticmethod
    def _disconnect(client: Any) -> None:
        client.state = C.SMPP_CLIENT_STATE_OPEN  # we mean to drop it, bound or not
        with contextlib.suppress(*_LINK_ERRORS):
            client.disconnect()

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            self._disconnect(client)

    def _respond(self, client: Any, command: str, sequence: int, status: int = 0) -> None:
        pdu = smpplib.smpp.make_pdu(command, client=client, status=status)
        pdu.sequence = sequence
        client.send_pdu(pdu)
        self._last_io = self._now()

    def _read(self, client: Any) -> Any:
        pdu = client.read_pdu()
        self._last_io = self._now()
        return pdu

    def _wait_for(self, client: Any, sequence: int, command: str) -> Any:
        """Read PDUs until the response to ``sequence``, acting on whatever comes first."""
        deadline = self._now() + self.config.response_timeout
        while self._now() < deadline:
            pdu = self._read(client)
            if pdu.sequence == sequence and pdu.command in (command, "generic_nack"):
                return pdu
            self._dispatch(client, pdu)
            if self._client is None:
                raise smpplib.exceptions.ConnectionError("the SMSC unbound us")
        raise TimeoutError(f"no {command} within {self.config.response_timeout}s")

    # -- sending ---------------------------------------------------------------------------
    def send(self, message: Message, accepted: Accepted) -> None:
        """Submit every part not accepted before; report each as the SMSC accepts it."""
        if not isinstance(message, Sms):
            raise PermanentFailure("the SMPP sender sends SMS only")
        try:
            encoded = enc.encode(message.text, message.outbox_id % 256)
        except ValueError as exc:
            raise PermanentFailure(str(exc)) from exc
        destination = "".join(ch for ch in message.to if ch.isdigit())
        for seq, part in enumerate(encoded.parts, 1):
            if seq > message.skip_parts:
                accepted(seq, len(encoded.parts), self._submit(destination, part, encoded))

    def _submit(self, destination: str, part: bytes, encoded: enc.Encoded) -> str:
        client = self._bound()
        ton, npi = self.config.source_ton_npi()
        try:
            pdu = client.send_message(
                source_addr_ton=ton, source_addr_npi=npi, source_addr=self.config.source_addr,
                dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination,
                short_message=part, data_coding=encoded.data_coding,
                esm_class=encoded.esm_class, registered_delivery=1)
            self._last_io = self._now()
            resp = self._wait_for(client, pdu.sequence, "submit_sm_resp")
        except (*_LINK_ERRORS, TimeoutError) as exc:
            self._drop()
            raise TemporaryFailure(f"SMPP submit_sm: {exc}") from exc
        status = int(resp.status)
        if status != C.SMPP_ESME_ROK:
            text = C.DESCRIPTIONS.get(status, "unknown status")
            if status in _PERMANENT:
                raise PermanentFailure(f"SMSC refused the message: 0x{status:08X} {text}")
            raise TemporaryFailure(f"SMSC deferred the message: 0x{status:08X} {text}")
        return _text(resp.message_id)

    # -- receiving -------------------------------------------------------------------------
    def poll(self) -> int:
        """Act on every PDU waiting on the link and keep it alive; the events handled."""
        client = self._bound()
        handled = 0
        try:
            while select.select([client._socket], [], [], 0)[0]:  # smpplib keeps it private
                handled += self._dispatch(client, self._read(client))
                if self._client is None:  # the SMSC unbound us
                    return handled
            if self._now() - self._last_io >= self.config.enquire_link_seconds:
                link = smpplib.smpp.make_pdu("enquire_link", client=client)
                client.send_pdu(link)
                self._wait_for(client, link.sequence, "enquire_link_resp")
        except (*_LINK_ERRORS, TimeoutError) as exc:
            self._drop()
            raise TemporaryFailure(f"SMPP link lost: {exc}") from exc
        return handled

    def _dispatch(self, client: Any, pdu: Any) -> int:
        if pdu.command == "deliver_sm":
            self._deliver(client, pdu)
            return 1
        if pdu.command == "enquire_link":
            self._respond(client, "enquire_link_resp", pdu.sequence)
        elif pdu.command == "unbind":
            self._respond(client, "unbind_resp", pdu.sequence)
            self._drop()
        elif pdu.command != "enquire_link_resp":
            log.warning("SMPP: ignoring %s (sequence %s)", pdu.command, pdu.sequence)
        return 0

    def _deliver(self, client: Any, pdu: Any) -> None:
        status = C.SMPP_ESME_ROK
        try:
            if self._handler is None:
                raise RuntimeError("no handler attached for receipts and inbound SMS")
            if is_receipt(int(pdu.esm_class or 0)):
                receipt = parse_receipt(_text(pdu.short_message), _text(
                    pdu.receipted_message_id) or None, pdu.message_state)
                if receipt is not None:
                    self._handler.receipt(receipt)
            else:
                sms = self._inbound(pdu)
                if sms is not None:
                    self._handler.message(sms)
        except Exception:
            # The SMSC keeps the message and delivers it again later; nothing is lost.
            log.exception("SMPP deliver_sm %s not handled; asking the SMSC to retry",
                          pdu.sequence)
            status = C.SMPP_ESME_RX_T_APPN
        self._respond(client, "deliver_sm_resp", pdu.sequence, status)

    def _inbound(self, pdu: Any) -> InboundSms | None:
        """A traveller's SMS; the parts of a long one are joined (None until all came)."""
        payload = pdu.short_message or b""
        concat = None
        if int(pdu.esm_class or 0) & enc.ESM_UDHI:
            concat, payload = enc.split_udh(payload)
        text = enc.decode(payload, int(pdu.data_coding or 0))
        source = _text(pdu.source_addr)
        sender = f"+{source}" if int(pdu.source_addr_ton or 0) == 1 else source
        if concat is None or concat.total <= 1:
            return InboundSms(sender, text, _text(pdu.destination_addr))
        now = self._now()
        self._partial = {k: v for k, v in self._partial.items() if now - v[0] < _PARTIAL_TTL}
        _, parts = self._partial.setdefault((sender, concat.ref), (now, {}))
        parts[concat.seq] = text
        if len(parts) < concat.total:
            return None
        del self._partial[(sender, concat.ref)]
        joined = "".join(parts[i] for i in sorted(parts))
        return InboundSms(sender, joined, _text(pdu.destination_addr))

    def close(self) -> None:
        """Unbind politely (acting on anything still arriving), then disconnect."""
        client = self._client
        if client is None:
            return
        try:
            unbind = smpplib.smpp.make_pdu("unbind", client=client)
            client.send_pdu(unbind)
            self._wait_for(client, unbind.sequence, "unbind_resp")
        except (*_LINK_ERRORS, TimeoutError):
            pass
        self._drop()
