"""Who may call the operator-side callbacks (the USSD gateway, the SMS gateway's inbound hook).

These URLs are for the operator's gateways, not for the public: each call carries the shared
secret in the ``X-Gateway-Token`` header (or a ``token`` query parameter, for gateways that can
only be given a URL) and, when an allowlist is set, comes from one of its addresses.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from typing import Literal

from fastapi import Request

from topup.config import Settings
from topup.errors import Forbidden, Unauthenticated

HEADER = "X-Gateway-Token"


def allowed_address(host: str | None, allowlist: tuple[str, ...]) -> bool:
    """True when ``allowlist`` is empty or ``host`` is in one of its addresses or ranges."""
    if not allowlist:
        return True
    try:
        addr = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(addr in ipaddress.ip_network(net, strict=False) for net in allowlist)


def check_gateway(request: Request, token: str, allowlist: tuple[str, ...]) -> None:
    """Raise Unauthenticated (401) without the right secret, Forbidden (403) from elsewhere.

    An empty configured secret refuses every call: a callback is never open by accident.
    """
    given = request.headers.get(HEADER) or request.query_params.get("token") or ""
    if not token or not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthenticated(f"send the gateway's shared secret in {HEADER}")
    host = request.client.host if request.client else None
    if not allowed_address(host, allowlist):
        raise Forbidden("this address may not call the gateway callback")


def gateway(name: Literal["ussd", "sms"]) -> Callable[[Request], None]:
    """A route dependency checking the ``name`` gateway's secret and address, so a caller
    without them is refused before its form is read (a check in the handler would first
    answer strangers with the form's validation errors)."""

    def check(request: Request) -> None:
        s: Settings = request.app.state.db.settings
        if name == "ussd":
            check_gateway(request, s.ussd_gateway_token, s.ussd_gateway_ips)
        else:
            check_gateway(request, s.sms_gateway_token, s.sms_gateway_ips)

    return check
