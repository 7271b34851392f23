"""A packet gateway on a real Diameter stack (python-diameter), for the Gy tests: it
connects to the OCS (or a relay in front of it) and sends Credit-Control-Requests."""

from __future__ import annotations

import socket
import time
from typing import Any

from diameter.message import constants as C
from diameter.message.avp.grouped import PsInformation, ServiceInformation
from diameter.message.commands import CreditControlRequest, ReAuthRequest
from diameter.node import Node
from diameter.node.application import SimpleThreadingApplication


def free_port() -> int:
    """A TCP port nobody listens on, on the loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


OCS, OCS_REALM = "ocs.topup.test", "topup.test"
PGW, PGW_REALM = "pgw.gateway.test", "gateway.test"
TYPES = {"I": C.E_CC_REQUEST_TYPE_INITIAL_REQUEST, "U": C.E_CC_REQUEST_TYPE_UPDATE_REQUEST,
         "T": C.E_CC_REQUEST_TYPE_TERMINATION_REQUEST, "E": C.E_CC_REQUEST_TYPE_EVENT_REQUEST}


class Gateway:
    """A packet gateway: connects to the OCS and sends Credit-Control-Requests."""

    def __init__(self, port: int, peer: str = OCS, peer_realm: str = OCS_REALM) -> None:
        """Connected to ``peer`` (the OCS, or a relay) on the loopback's ``port``."""
        self.node = Node(PGW, PGW_REALM, vendor_ids=[C.VENDOR_TGPP])
        self.node.wakeup_interval = 1
        to = self.node.add_peer(f"aaa://{peer}:{port};transport=tcp", peer_realm,
                                ip_addresses=["127.0.0.1"], is_persistent=True)
        self.reauths: list[str] = []  # Session-Ids of the Re-Auth-Requests received
        self.app = SimpleThreadingApplication(
            C.APP_DIAMETER_CREDIT_CONTROL_APPLICATION, is_auth_application=True,
            request_handler=self._request)
        # its own realm (answers to come back), and the OCS's through that peer
        self.node.add_application(self.app, [to], realms=[PGW_REALM, OCS_REALM])
        self.node.start()
        self.app.wait_for_ready(15)

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
            mcc_mnc: str | None = "52001") -> Any:
        r = CreditControlRequest()
        r.session_id = session
        r.origin_host = PGW.encode()
        r.origin_realm = PGW_REALM.encode()
        r.destination_realm = OCS_REALM.encode()
        r.service_context_id = "32251@3gpp.org"
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
        return self.app.send_request(r, timeout=10)

    def stop(self) -> None:
        self.node.stop(wait_timeout=5, force=True)
