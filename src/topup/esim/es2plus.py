"""ES2+ (GSMA SGP.22 §5.3, JSON binding §6.5): how the operator asks the SM-DP+ to prepare a
profile for download.

- ``download_order``: reserve a profile, named by ICCID or picked by profile type;
- ``confirm_order``: make it downloadable; the SM-DP+ answers with the matching id (and its
  own address) that make the activation code ``LPA:1$<SM-DP+>$<matching id>``;
- ``cancel_order``: undo an order, the profile going back to ``Available`` or set aside
  (``Unavailable``);
- ``release_profile``: let a profile confirmed without release be downloaded.

Every request is a POST to ``<base>/gsma/rsp2/es2plus/<function>`` with a JSON body whose
``header`` names the requester and a call id unique to this call, and the headers
``Content-Type: application/json;charset=UTF-8`` and ``X-Admin-Protocol: gsma/rsp/v2.x.y``.
Every answer is 200 with a ``header.functionExecutionStatus``: ``Executed-Success`` or
``Executed-WithWarning`` go on; ``Failed`` and ``Expired`` raise ``SmdpRefused`` with the
subject and reason codes; anything else (the network, another HTTP status, a body that is
not ES2+) raises ``SmdpUnavailable``. Mutual TLS is a client certificate and a CA bundle.
"""

from __future__ import annotations

import json
import re
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from topup.errors import InvalidInput
from topup.esim.errors import SmdpRefused, SmdpUnavailable

PATH = "/gsma/rsp2/es2plus/"
PROTOCOL = "gsma/rsp/v2.2.0"
CONTENT_TYPE = "application/json;charset=UTF-8"
EXECUTED = ("Executed-Success", "Executed-WithWarning")
REFUSED = ("Failed", "Expired")
_ICCID = re.compile(r"\d{19}[\dFf]?")  # 19 or 20 digits, or 19 and the padding F


@dataclass(frozen=True)
class Confirmed:
    """What ``confirm_order`` hands back: the matching id and the SM-DP+'s address (its own
    when it names one, else the one configured), and the EID where one was bound."""

    iccid: str
    matching_id: str
    smdp_address: str
    eid: str | None

    @property
    def activation_code(self) -> str:
        """SGP.22's activation code, for a QR code or the one-tap install link."""
        return f"LPA:1${self.smdp_address}${self.matching_id}"


# httpx's failures, and what they mean here (one table, as httpx maps its own transport's)
_TRANSPORT: tuple[tuple[type[Exception], str], ...] = (
    (httpx.TimeoutException, "did not answer in time"),
    (httpx.ConnectError, "could not be reached"),
    (httpx.TransportError, "broke the connection"),
)


@contextmanager
def _mapped(function: str) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError as exc:
        said = next((text for kind, text in _TRANSPORT if isinstance(exc, kind)), "failed")
        raise SmdpUnavailable(f"{function}: the SM-DP+ {said} ({exc})") from exc


class Es2PlusClient:
    """ES2+ as the operator calls it, on one SM-DP+ at ``base_url``; ``requester`` is the
    operator's function requester identifier, ``smdp_address`` the SM-DP+'s own address for
    activation codes (when its answers do not name it). ``client_cert`` (a PEM file, or a
    (certificate, key) pair) and ``ca`` (a PEM bundle) make it mutual TLS."""

    def __init__(self, base_url: str, requester: str, smdp_address: str, *,
                 client_cert: str | tuple[str, str] | None = None, ca: str | None = None,
                 timeout: float = 20.0) -> None:
        if not requester:
            raise InvalidInput("ES2+ needs the operator's function requester identifier")
        self.requester, self.smdp_address = requester, smdp_address
        tls = ssl.create_default_context(cafile=ca)  # the system's CAs when ca is None
        if client_cert is not None:
            cert, key = client_cert if isinstance(client_cert, tuple) else (client_cert, None)
            tls.load_cert_chain(cert, key)
        self._http = httpx.Client(base_url=base_url.rstrip("/"), verify=tls, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def download_order(self, *, iccid: str | None = None, profile_type: str | None = None,
                       eid: str | None = None) -> str:
        """Reserve a profile (by ICCID, or any of ``profile_type``); its ICCID."""
        if not iccid and not profile_type:
            raise InvalidInput("a download order names an ICCID or a profile type")
        body = _some(iccid=_iccid(iccid) if iccid else None, profileType=profile_type, eid=eid)
        return _iccid(str(self._call("downloadOrder", body).get("iccid") or ""), answer=True)

    def confirm_order(self, iccid: str, *, matching_id: str | None = None,
                      confirmation_code: str | None = None, eid: str | None = None,
                      smds_address: str | None = None, release: bool = True) -> Confirmed:
        """Make the reserved profile downloadable (``release``: at once)."""
        body = _some(iccid=_iccid(iccid), eid=eid, matchingId=matching_id,
                     confirmationCode=confirmation_code, smdsAddress=smds_address)
        body["releaseFlag"] = release
        out = self._call("confirmOrder", body)
        found = out.get("matchingId") or matching_id
        if not found:
            raise SmdpUnavailable("confirmOrder: the SM-DP+ named no matching id")
        return Confirmed(_iccid(iccid), str(found),
                         str(out.get("smdpAddress") or self.smdp_address), out.get("eid") or eid)

    def cancel_order(self, iccid: str, *, available: bool = True, eid: str | None = None,
                     matching_id: str | None = None) -> None:
        """Undo an order: the profile back to ``Available`` (or ``Unavailable``)."""
        body = _some(iccid=_iccid(iccid), eid=eid, matchingId=matching_id)
        body["finalProfileStatusIndicator"] = "Available" if available else "Unavailable"
        self._call("cancelOrder", body)

    def release_profile(self, iccid: str) -> None:
        """Let a profile confirmed without release be downloaded."""
        self._call("releaseProfile", {"iccid": _iccid(iccid)})

    def _call(self, function: str, body: dict[str, Any]) -> dict[str, Any]:
        sent = {"header": {"functionRequesterIdentifier": self.requester,
                           "functionCallIdentifier": uuid.uuid4().hex}, **body}
        with _mapped(function):
            answer = self._http.post(PATH + function, content=json.dumps(sent), headers={
                "Content-Type": CONTENT_TYPE, "X-Admin-Protocol": PROTOCOL})
        return _checked(function, answer)


def _checked(function: str, answer: httpx.Response) -> dict[str, Any]:
    """The answer's body once it is ES2+'s and executed; SmdpRefused or SmdpUnavailable."""
    if answer.status_code != 200:
        raise SmdpUnavailable(f"{function}: the SM-DP+ answered HTTP {answer.status_code}")
    if not answer.headers.get("X-Admin-Protocol", "").startswith("gsma/rsp/v2."):
        raise SmdpUnavailable(f"{function}: the answer does not say it is ES2+ "
                              "(X-Admin-Protocol)")
    if not answer.headers.get("Content-Type", "").startswith("application/json"):
        raise SmdpUnavailable(f"{function}: the answer is not JSON")
    try:
        body = answer.json()
        status = body["header"]["functionExecutionStatus"]
        state = str(status["status"])
    except (ValueError, KeyError, TypeError):
        raise SmdpUnavailable(f"{function}: the answer has no functionExecutionStatus") from None
    if state in REFUSED:
        raise SmdpRefused(function, state, status.get("statusCodeData") or {})
    if state not in EXECUTED:
        raise SmdpUnavailable(f"{function}: unknown execution status {state!r}")
    return dict(body)


def _some(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _iccid(value: str, *, answer: bool = False) -> str:
    """An ICCID of 19 or 20 digits (the 20th may be the padding F), without the padding."""
    text = value.strip()
    if not _ICCID.fullmatch(text):
        if answer:
            raise SmdpUnavailable(f"the SM-DP+ answered with no valid ICCID ({value!r})")
        raise InvalidInput("an ICCID has 19 or 20 digits", field="iccid")
    return text[:-1] if text[-1] in "Ff" else text
