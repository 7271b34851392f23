"""The gateway's side of Gy, on the same Diameter stack as the server: a node that connects
to an online charging server (topup's, or a relay in front of it), sends
Credit-Control-Requests and keeps the Re-Auth-Requests it is sent.

``topup diameter-probe`` uses it to check a Gy server from where a gateway stands; the tests
and ``bench/charging.py`` drive topup's server with it.
"""

from __future__ import annotations

import time
from typing import Any

from diameter.message import constants as C
from diameter.message.avp.grouped import PsInformation, ServiceInformation
from diameter.message.commands import CreditControlRequest, ReAuthRequest
from diameter.node.application import Application, ApplicationError

from topup.channels.gy.node import Node

TYPES = {"I": C.E_CC_REQUEST_TYPE_INITIAL_REQUEST, "U": C.E_CC_REQUEST_TYPE_UPDATE_REQUEST,
         "T": C.E_CC_REQUEST_TYPE_TERMINATION_REQUEST, "E": C.E_CC_REQUEST_TYPE_EVENT_REQUEST}
SERVICE_CONTEXT = "32251@3gpp.org"  # PS charging (TS 32.251)


class Refused(ApplicationError):
    """The peer answered the gateway's Capabilities-Exchange-Request with an error:
    ``result_code`` (3010 DIAMETER_UNKNOWN_PEER for a gateway it does not know, say)."""

    def __init__(self, result_code: int) -> None:
        super().__init__(f"the peer refused the connection (Result-Code {result_code})")
        self.result_code = result_code


class Gateway:
    """A packet gateway ``identity`` of ``realm``, connected to the Diameter peer
    ``peer``@``peer_realm`` at ``host``:``port``; its requests go to ``destination_realm``
    (the server's realm: the peer's own, unless the peer is a relay)."""

    def __init__(self, *, identity: str, realm: str, peer: str, peer_realm: str,
                 port: int, host: str = "127.0.0.1", destination_realm: str | None = None,
                 ready_seconds: float = 15) -> None:
        self.identity, self.realm = identity, realm
        self.destination_realm = destination_realm or peer_realm
        self.node = _GatewayNode(identity, realm, vendor_ids=[C.VENDOR_TGPP])
        self.node.wakeup_interval = 1
        to = self.node.add_peer(f"aaa://{peer}:{port};transport=tcp", peer_realm,
                                ip_addresses=[host], is_persistent=True)
        self.reauths: list[str] = []  # Session-Ids of the Re-Auth-Requests received
        self.app = _Reauths(self.reauths)
        # its own realm (answers to come back), and the server's through that peer
        self.node.add_application(self.app, [to], realms=sorted(
            {realm, self.destination_realm}))
        self.node.start()
        try:
            self._wait_for_ready(ready_seconds)
        except BaseException:
            self.stop()
            raise

    def _wait_for_ready(self, seconds: float) -> None:
        """Until the peer has answered the CER: ``Refused`` as soon as it says no,
        ``ApplicationError`` if it says nothing within ``seconds``."""
        deadline = time.monotonic() + seconds
        while not self.app.is_ready.wait(0.01):
            if self.node.refused is not None:
                raise Refused(self.node.refused)
            if time.monotonic() >= deadline:
                raise ApplicationError("No connection available within timeout")

    def wait_reauth(self, session: str, timeout: float = 10.0) -> bool:
        """Whether a Re-Auth-Request for ``session`` arrives within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if session in self.reauths:
                return True
            time.sleep(0.05)
        return False

    def ccr(self, session: str, kind: str, number: int, msccs: list[dict[str, Any]], *,
            imsi: str | None = None, msisdn: str | None = None,
            mcc_mnc: str | None = None, timeout: float = 10) -> Any:
        """Send a CCR of ``kind`` (I, U, T or E) and wait for its answer; each of ``msccs``
        holds the fields of one Multiple-Services-Credit-Control."""
        r = CreditControlRequest()
        r.session_id = session
        r.origin_host = self.identity.encode()
        r.origin_realm = self.realm.encode()
        r.destination_realm = self.destination_realm.encode()
        r.service_context_id = SERVICE_CONTEXT
        r.cc_request_type = TYPES[kind]
        r.cc_request_number = number
        if imsi:
            r.add_subscription_id(C.E_SUBSCRIPTION_ID_TYPE_END_USER_IMSI, imsi)
        if msisdn:
            r.add_subscription_id(C.E_SUBSCRIPTION_ID_TYPE_END_USER_E164, msisdn)
        r.multiple_services_indicator = \
            C.E_MULTIPLE_SERVICES_INDICATOR_MULTIPLE_SERVICES_SUPPORTED
        for m in msccs:
            r.add_multiple_services_credit_control(**m)
        if mcc_mnc:
            r.service_information = ServiceInformation(
                ps_information=PsInformation(tgpp_sgsn_mcc_mnc=mcc_mnc))
        return self.app.send_request(r, timeout=timeout)

    def stop(self) -> None:
        """Disconnect from the peer (DPR/DPA) and stop."""
        self.node.stop(wait_timeout=5)


class _GatewayNode(Node):
    """The gateway's node, which notes a peer's refusal of its CER (``refused``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.refused: int | None = None

    def receive_cea(self, conn: Any, message: Any) -> None:
        if message.result_code != C.E_RESULT_CODE_DIAMETER_SUCCESS:
            self.refused = int(message.result_code)
        super().receive_cea(conn, message)


class _Reauths(Application):
    """Credit-Control on the gateway's side: a Re-Auth-Request's Session-Id is kept in
    ``reauths`` and answered at once, on the node's own thread (nothing to wait for)."""

    def __init__(self, reauths: list[str]) -> None:
        super().__init__(C.APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True)
        self._reauths = reauths

    def handle_request(self, message: Any) -> None:
        if isinstance(message, ReAuthRequest):
            self._reauths.append(str(message.session_id))
        self.send_answer(self.generate_answer(message, C.E_RESULT_CODE_DIAMETER_SUCCESS))
