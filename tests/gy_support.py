"""The packet gateway of the Gy tests: topup's gateway side (channels/gy/gateway.py) as
``pgw.gateway.test``, connected to the OCS (or a relay in front of it) on the loopback,
serving in Thailand unless told otherwise."""

from __future__ import annotations

import socket
from typing import Any

from topup.channels.gy import gateway
from topup.channels.gy.gateway import TYPES

__all__ = ["OCS", "OCS_REALM", "PGW", "PGW_REALM", "TYPES", "Gateway", "free_port"]


def free_port() -> int:
    """A TCP port nobody listens on, on the loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


OCS, OCS_REALM = "ocs.topup.test", "topup.test"
PGW, PGW_REALM = "pgw.gateway.test", "gateway.test"


class Gateway(gateway.Gateway):
    def __init__(self, port: int, peer: str = OCS, peer_realm: str = OCS_REALM) -> None:
        """Connected to ``peer`` (the OCS, or a relay) on the loopback's ``port``."""
        super().__init__(identity=PGW, realm=PGW_REALM, peer=peer, peer_realm=peer_realm,
                         port=port, destination_realm=OCS_REALM)

    def ccr(self, session: str, kind: str, number: int, msccs: list[dict[str, Any]], *,
            mcc_mnc: str | None = "52001", **who: Any) -> Any:
        return super().ccr(session, kind, number, msccs, mcc_mnc=mcc_mnc, **who)
