"""A local SM-DP+ for tests: ES2+ (SGP.22 §5.3, JSON over HTTP, §6.5) on 127.0.0.1.

``SmdpPeer`` keeps profiles by ICCID with SGP.22's states (Available → Allocated →
Released, or Confirmed while not released; back to Available or Unavailable when an order is
cancelled), answers downloadOrder, confirmOrder, cancelOrder and releaseProfile with a
``header.functionExecutionStatus`` and, when it refuses, ``statusCodeData`` with SGP.22's
subject and reason codes (8.2.1 Profile ICCID, 8.2.5 Profile Type, 8.2.6 Matching ID;
3.3 already in use, 3.7 unavailable, 3.9 unknown). It records every request (path, headers,
body) for the tests to read, and can be told to answer ``Expired`` or an HTTP error next.
"""

from __future__ import annotations

import ipaddress
import json
import secrets
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PREFIX = "/gsma/rsp2/es2plus/"


@dataclass
class Profile:
    iccid: str
    profile_type: str
    state: str = "Available"
    matching_id: str | None = None
    eid: str | None = None


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class SmdpPeer:
    address: str = "smdp.test.example"
    profiles: dict[str, Profile] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    next_status: str | None = None  # "Expired" answers the next call so
    next_http: int | None = None  # an HTTP status answers the next call so
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, iccid: str, profile_type: str = "travel-jp") -> None:
        self.profiles[iccid] = Profile(iccid, profile_type)

    # --- the functions, named as ES2+ names them ----------------------------------------
    def downloadOrder(self, body: dict[str, Any]) -> dict[str, Any]:
        iccid, kind = body.get("iccid"), body.get("profileType")
        if iccid:
            p = self.profiles.get(iccid)
            if p is None:
                raise Refusal("8.2.1", "3.9", iccid, "Profile ICCID unknown")
            if p.state != "Available":
                raise Refusal("8.2.1", "3.3", iccid, "Profile ICCID already in use")
        else:
            p = next((x for x in self.profiles.values()
                      if x.profile_type == kind and x.state == "Available"), None)
            if p is None:
                raise Refusal("8.2.5", "3.7", str(kind), "Profile Type unavailable")
        p.state, p.eid = "Allocated", body.get("eid")
        return {"iccid": p.iccid}

    def confirmOrder(self, body: dict[str, Any]) -> dict[str, Any]:
        p = self._allocated(body["iccid"])
        wanted = body.get("matchingId")
        if wanted and any(x.matching_id == wanted for x in self.profiles.values()):
            raise Refusal("8.2.6", "3.3", wanted, "Matching ID already in use")
        p.matching_id = wanted or secrets.token_hex(8).upper()
        p.state = "Released" if body["releaseFlag"] else "Confirmed"
        return {"matchingId": p.matching_id, "smdpAddress": self.address,
                **({"eid": p.eid} if p.eid else {})}

    def cancelOrder(self, body: dict[str, Any]) -> dict[str, Any]:
        p = self.profiles.get(body["iccid"])
        if p is None:
            raise Refusal("8.2.1", "3.9", body["iccid"], "Profile ICCID unknown")
        p.state = body["finalProfileStatusIndicator"]
        p.matching_id = p.eid = None
        return {}

    def releaseProfile(self, body: dict[str, Any]) -> dict[str, Any]:
        p = self.profiles.get(body["iccid"])
        if p is None or p.state != "Confirmed":
            raise Refusal("8.2.1", "3.9" if p is None else "3.7", body["iccid"],
                          "Profile ICCID not confirmed")
        p.state = "Released"
        return {}

    def _allocated(self, iccid: str) -> Profile:
        p = self.profiles.get(iccid)
        if p is None:
            raise Refusal("8.2.1", "3.9", iccid, "Profile ICCID unknown")
        if p.state != "Allocated":
            raise Refusal("8.2.1", "3.7", iccid, "Profile ICCID not allocated")
        return p

    # --- the SM-DP+ calling the operator ------------------------------------------------
    def report_progress(self, operator_base: str, token: str, iccid: str, point: int,
                        status: str = "Executed-Success", profile_type: str = "travel-jp",
                        timestamp: str = "2026-12-05T10:00:00Z") -> int:
        """ES2+ HandleDownloadProgressInfo to the operator at ``operator_base`` (its ES2+
        root, without ``/gsma/rsp2/es2plus/``), as an SM-DP+ sends it; the HTTP status."""
        body = {"header": {"functionRequesterIdentifier": self.address,
                           "functionCallIdentifier": uuid.uuid4().hex},
                "iccid": iccid, "profileType": profile_type, "timestamp": timestamp,
                "notificationPointId": point, "notificationPointStatus": {"status": status}}
        answer = httpx.post(
            f"{operator_base.rstrip('/')}{PREFIX}handleDownloadProgressInfo",
            content=json.dumps(body).encode(), timeout=10,
            headers={"Content-Type": "application/json;charset=UTF-8",
                     "X-Admin-Protocol": "gsma/rsp/v2.2.0", "Authorization": f"Bearer {token}"})
        return answer.status_code

    # --- HTTP ----------------------------------------------------------------------------
    def answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        body = json.loads(raw)
        with self.lock:
            self.seen.append(Seen(path, headers, body))
            if self.next_http is not None:
                code, self.next_http = self.next_http, None
                return code, b"upstream trouble"
            function = path.removeprefix(PREFIX)
            status: dict[str, Any] = {"status": "Executed-Success"}
            out: dict[str, Any] = {}
            if self.next_status is not None:
                status, self.next_status = {"status": self.next_status, "statusCodeData": {
                    "subjectCode": "8.1", "reasonCode": "6.4",
                    "message": "Execution time-out"}}, None
            else:
                try:
                    out = getattr(self, function)(body)
                except Refusal as refusal:
                    status = {"status": "Failed", "statusCodeData": refusal.data}
        return 200, json.dumps({"header": {"functionExecutionStatus": status}, **out}).encode()


class Refusal(Exception):
    def __init__(self, subject: str, reason: str, identifier: str, message: str) -> None:
        self.data = {"subjectCode": subject, "reasonCode": reason,
                     "subjectIdentifier": identifier, "message": message}


def serve(peer: SmdpPeer, tls: Pki | None = None) -> ThreadingHTTPServer:
    """``peer`` on a free port of 127.0.0.1, in a thread; ``shutdown()`` stops it. With
    ``tls``: HTTPS with the server certificate, and a client certificate from its CA
    required (ES2+'s mutual TLS)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if not self.path.startswith(PREFIX):
                self.send_error(404)
                return
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            code, data = peer.answer(self.path, dict(self.headers.items()), raw)
            self.send_response(code)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("X-Admin-Protocol", "gsma/rsp/v2.2.0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.server_cert, tls.server_key)
        context.load_verify_locations(tls.ca)
        context.verify_mode = ssl.CERT_REQUIRED
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass(frozen=True)
class Pki:
    """PEM files made for one test: a CA, the SM-DP+'s certificate for 127.0.0.1 and the
    operator's client certificate, both issued by it."""

    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def make_pki(folder: Path) -> Pki:
    start = datetime.now(UTC) - timedelta(hours=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test eSIM CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(start + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def issue(name: str, usage: x509.ObjectIdentifier, san: list[x509.GeneralName]
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(start)
                .not_valid_after(start + timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(san), critical=False)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        return cert, key

    server, server_key = issue("smdp.test.example", ExtendedKeyUsageOID.SERVER_AUTH,
                               [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client, client_key = issue("operator.example", ExtendedKeyUsageOID.CLIENT_AUTH,
                               [x509.DNSName("operator.example")])

    def write(name: str, data: bytes) -> str:
        path = folder / name
        path.write_bytes(data)
        return str(path)

    def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM,
                                 serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    pem = serialization.Encoding.PEM
    return Pki(write("ca.pem", ca.public_bytes(pem)),
               write("smdp.pem", server.public_bytes(pem)), write("smdp.key", key_pem(server_key)),
               write("operator.pem", client.public_bytes(pem)),
               write("operator.key", key_pem(client_key)))
