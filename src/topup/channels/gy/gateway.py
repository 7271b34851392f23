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
from diameter.node import Node
from diameter.node.application import SimpleThreadingApplication

TYPES = {"I": C.E_CC_REQUEST_TYPE_INITIAL_REQUEST, "U": C.E_CC_REQUEST_TYPE_UPDATE_REQUEST,
         "T": C.E_CC_REQUEST_TYPE_TERMINATION_REQUEST, "E": C.E_CC_REQUEST_TYPE_EVENT_REQUEST}
SERVICE_CONTEXT = "32251@3gpp.org"  # PS charging (TS 32.251)


class Gateway:
    """A packet gateway ``identity`` of ``realm``, connected to the Diameter peer
    ``peer``@``peer_realm`` at ``host``:``port``; its requests go to ``destination_realm``
    (the server's realm: the peer's own, unless the peer is a relay)."""

    def __init__(self, *, identity: str, realm: str, peer: str, peer_realm: str,
                 port: int, host: str = "127.0.0.1", destination_realm: str | None = None,
                 ready_seconds: float = 15) -> None:
        self.identity, self.realm = identity, realm
        self.destination_realm = destination_realm or peer_realm
        self.node = Node(identity, realm, vendor_ids=[C.VENDOR_TGPP])
        self.node.wakeup_interval = 1
        to = self.node.add_peer(f"aaa://{peer}:{port};transport=tcp", peer_realm,
                                ip_addresses=[host], is_persistent=True)
        self.reauths: list[str] = []  # Session-Ids of the Re-Auth-Requests received
        self.app = SimpleThreadingApplication(
            C.APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True,
            request_handler=self._request)
        # its own realm (answers to come back), and the server's through that peer
        self.node.add_application(self.app, [to], realms=sorted(
            {realm, self.destination_realm}))
        self.node.start()
        try:
            self.app.wait_for_ready(ready_seconds)
        except BaseException:
            self.stop()
            raise

    def _request(self, app: Any, req: Any) -> Any:
        if isinstance(req, ReAuthRequest):
            self.reauths.append(str(req.session_id))
        return app.generate_answer(req, C.E_RESULT_CODE_DIAMETER_SUCCESS)

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
        self.node.stop(wait_timeout=5, force=True)
