"""A local PayPal for tests: Orders v2 / Payments v2 over HTTP on 127.0.0.1, and a signer.

``PayPalPeer`` speaks the wire protocol the real ``paypal-server-sdk`` uses: an OAuth2
client-credentials token (``/v1/oauth2/token``, HTTP Basic), create/show/capture orders,
refund captures, PayPal's JSON shapes and error bodies, and ``PayPal-Request-Id``
idempotency (a repeated id replays the first answer). The payer's side is played by
``approve`` (and ``decline_next_capture``). ``WebhookSigner`` signs transmissions the way
PayPal does (RSA-SHA256 over ``id|time|webhook_id|crc32``) with a certificate chain made in
the test (a root CA and a ``messageverificationcerts.sandbox.paypal.com`` leaf).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import secrets
import threading
import uuid
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

WHOLE = {"JPY", "HUF", "TWD"}
SUPPORTED = {"AUD", "BRL", "CAD", "CNY", "CZK", "DKK", "EUR", "HKD", "HUF", "ILS", "JPY", "MYR",
             "MXN", "TWD", "NZD", "NOK", "PHP", "PLN", "GBP", "SGD", "SEK", "CHF", "THB", "USD"}
SIGNER_HOST = "messageverificationcerts.sandbox.paypal.com"
CERT_URL = "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-test"
_ids = itertools.count(1)


def paypal_id(prefix: str = "") -> str:
    """An id shaped like PayPal's (17 upper-case alphanumerics)."""
    return (prefix + secrets.token_hex(9).upper())[:17]


def now_text(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- certificates -------------------------------------------------------------------------

@dataclass
class Pki:
    """A test root CA and a PayPal-named signing certificate issued by it."""

    root: x509.Certificate
    leaf: x509.Certificate
    leaf_key: rsa.RSAPrivateKey

    def leaf_pem(self) -> str:
        return self.leaf.public_bytes(serialization.Encoding.PEM).decode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PayPal, Inc. (test)"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_pki(cn: str = SIGNER_HOST) -> Pki:
    """A fresh root and leaf, valid from an hour ago for a day."""
    start = datetime.now(UTC) - timedelta(hours=1)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ski = x509.SubjectKeyIdentifier.from_public_key(root_key.public_key())
    root = (x509.CertificateBuilder().subject_name(_name("Test Root CA"))
            .issuer_name(_name("Test Root CA")).public_key(root_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(ski, critical=False)
            .sign(root_key, hashes.SHA256()))
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(root.subject)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    return Pki(root, leaf, leaf_key)


@dataclass
class WebhookSigner:
    """Signs webhook transmissions as PayPal does, for one webhook id."""

    webhook_id: str
    key: rsa.RSAPrivateKey
    cert_url: str = CERT_URL

    def headers(self, body: bytes, *, at: datetime | None = None,
                webhook_id: str | None = None) -> dict[str, str]:
        """The headers PayPal sends with ``body`` (signed now unless ``at`` is given)."""
        tid = str(uuid.uuid4())
        stamp = now_text(at)
        crc = zlib.crc32(body) & 0xFFFFFFFF
        message = f"{tid}|{stamp}|{webhook_id or self.webhook_id}|{crc}".encode()
        sig = self.key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {"Content-Type": "application/json", "PAYPAL-TRANSMISSION-ID": tid,
                "PAYPAL-TRANSMISSION-TIME": stamp,
                "PAYPAL-TRANSMISSION-SIG": base64.b64encode(sig).decode(),
                "PAYPAL-CERT-URL": self.cert_url, "PAYPAL-AUTH-ALGO": "SHA256withRSA"}


def event(event_type: str, resource: dict[str, Any]) -> bytes:
    """A webhook event body as PayPal sends it."""
    kind = "capture" if event_type.startswith("PAYMENT.CAPTURE") else "checkout-order"
    return json.dumps({
        "id": f"WH-{paypal_id()}-{paypal_id()}", "event_version": "1.0",
        "create_time": now_text(), "resource_type": kind, "resource_version": "2.0",
        "event_type": event_type, "summary": f"{event_type} (test)", "resource": resource,
        "links": [{"href": "https://api.sandbox.paypal.com/v1/notifications/webhooks-events/x",
                   "rel": "self", "method": "GET"}]}).encode()


# --- the API ------------------------------------------------------------------------------

class PeerError(Exception):
    def __init__(self, status: int, name: str, issue: str | None = None) -> None:
        super().__init__(name)
        self.status, self.name, self.issue = status, name, issue

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "message": self.name.replace("_", " "),
                               "debug_id": secrets.token_hex(6)}
        if self.issue:
            out["details"] = [{"issue": self.issue, "description": self.issue.lower()}]
        return out


@dataclass
class PeerState:
    client_id: str
    client_secret: str
    tokens: set[str] = field(default_factory=set)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    captures: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    replies: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    declines: set[str] = field(default_factory=set)
    refunded: dict[str, Decimal] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, str, str | None]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)


def _check_amount(amount: Any) -> None:
    if not isinstance(amount, dict):
        raise PeerError(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
    cur, value = amount.get("currency_code"), str(amount.get("value"))
    pattern = r"^\d+$" if cur in WHOLE else r"^\d+\.\d{2}$"
    if cur not in SUPPORTED:
        raise PeerError(422, "UNPROCESSABLE_ENTITY", "CURRENCY_NOT_SUPPORTED")
    if not re.match(pattern, value):
        raise PeerError(422, "UNPROCESSABLE_ENTITY", "DECIMAL_PRECISION")


class PayPalPeer:
    """The HTTP server and its state; use as a context manager."""

    def __init__(self, client_id: str = "test-client", client_secret: str = "test-secret"
                 ) -> None:
        self.state = PeerState(client_id, client_secret)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> PayPalPeer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    # The payer's side.
    def approve(self, order_id: str) -> None:
        """The payer logs in at the approval link and approves."""
        with self.state.lock:
            order = self.state.orders[order_id]
            assert order["status"] in ("CREATED", "PAYER_ACTION_REQUIRED"), order["status"]
            order["status"] = "APPROVED"
            order["payer"] = {"name": {"given_name": "Test", "surname": "Traveller"},
                              "email_address": "buyer@example.com", "payer_id": paypal_id()}

    def decline_next_capture(self, order_id: str) -> None:
        """The payer's funding source will be declined when this order is captured."""
        with self.state.lock:
            self.state.declines.add(order_id)

    def order(self, order_id: str) -> dict[str, Any]:
        with self.state.lock:
            return json.loads(json.dumps(self.state.orders[order_id]))

    def capture_of(self, order_id: str) -> dict[str, Any]:
        """The capture as a webhook resource (with its order id in supplementary_data)."""
        cap = dict(self.order(order_id)["purchase_units"][0]["payments"]["captures"][-1])
        cap["supplementary_data"] = {"related_ids": {"order_id": order_id}}
        return cap

    def calls_to(self, suffix: str) -> list[tuple[str, str, str | None]]:
        with self.state.lock:
            return [c for c in self.state.calls if c[1].endswith(suffix)]

    # Request handling, called from the server threads.
    def handle(self, method: str, path: str, headers: Any, raw: bytes
               ) -> tuple[int, dict[str, Any]]:
        st = self.state
        rid = headers.get("PayPal-Request-Id")
        with st.lock:
            st.calls.append((method, path, rid))
            if path == "/v1/oauth2/token":
                return self._token(headers, raw)
            if headers.get("Authorization", "").removeprefix("Bearer ") not in st.tokens:
                raise PeerError(401, "AUTHENTICATION_FAILURE")
            if rid and method == "POST" and (path, rid) in st.replies:
                return st.replies[(path, rid)]
            reply = self._route(method, path, json.loads(raw or b"{}"))
            if rid and method == "POST":
                st.replies[(path, rid)] = reply
            return reply

    def _token(self, headers: Any, raw: bytes) -> tuple[int, dict[str, Any]]:
        basic = base64.b64encode(
            f"{self.state.client_id}:{self.state.client_secret}".encode()).decode()
        if headers.get("Authorization") != f"Basic {basic}" \
                or b"grant_type=client_credentials" not in raw:
            return 401, {"error": "invalid_client",
                         "error_description": "Client Authentication failed"}
        token = f"A21AA{secrets.token_urlsafe(24)}"
        self.state.tokens.add(token)
        return 200, {"scope": "https://uri.paypal.com/services/payments/payment",
                     "access_token": token, "token_type": "Bearer",
                     "app_id": "APP-80W284485P519543T", "expires_in": 32400,
                     "nonce": secrets.token_hex(8)}

    def _route(self, method: str, path: str, body: dict[str, Any]
               ) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v2/checkout/orders":
            return self._create(body)
        if parts[:3] == ["v2", "checkout", "orders"] and len(parts) == 4 and method == "GET":
            return 200, self._order(parts[3])
        if parts[:3] == ["v2", "checkout", "orders"] and parts[4:] == ["capture"]:
            return self._capture(parts[3])
        if parts[:3] == ["v2", "payments", "captures"] and parts[4:] == ["refund"]:
            return self._refund(parts[3], body)
        raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")

    def _order(self, order_id: str) -> dict[str, Any]:
        if order_id not in self.state.orders:
            raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        return json.loads(json.dumps(self.state.orders[order_id]))

    def _create(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        units = body.get("purchase_units") or []
        if body.get("intent") not in ("CAPTURE", "AUTHORIZE") or len(units) != 1:
            raise PeerError(400, "INVALID_REQUEST", "MISSING_REQUIRED_PARAMETER")
        _check_amount(units[0].get("amount"))
        self.state.created.append(body)
        oid = paypal_id(str(next(_ids)))
        wallet = (body.get("payment_source") or {}).get("paypal")
        rel = "payer-action" if wallet is not None else "approve"
        order = {
            "id": oid, "intent": body["intent"],
            "status": "PAYER_ACTION_REQUIRED" if wallet is not None else "CREATED",
            "payment_source": {"paypal": {}},
            "purchase_units": [{"reference_id": "default", **units[0],
                                "payee": {"email_address": "merchant@example.com",
                                          "merchant_id": "C7CYMKZDG8D6E"}}],
            "create_time": now_text(),
            "links": [{"href": f"https://api.sandbox.paypal.com/v2/checkout/orders/{oid}",
                       "rel": "self", "method": "GET"},
                      {"href": f"https://www.sandbox.paypal.com/checkoutnow?token={oid}",
                       "rel": rel, "method": "GET"}]}
        self.state.orders[oid] = order
        return 201, self._order(oid)

    def _capture(self, order_id: str) -> tuple[int, dict[str, Any]]:
        order = self.state.orders.get(order_id)
        if order is None:
            raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        if order["status"] == "COMPLETED":
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
        if order["status"] != "APPROVED":
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
        unit = order["purchase_units"][0]
        declined = order_id in self.state.declines
        cap = {"id": paypal_id("C"), "status": "DECLINED" if declined else "COMPLETED",
               "amount": dict(unit["amount"]), "final_capture": True,
               "seller_protection": {"status": "ELIGIBLE"},
               "custom_id": unit.get("custom_id"), "invoice_id": unit.get("invoice_id"),
               "create_time": now_text(), "update_time": now_text()}
        self.state.captures[cap["id"]] = (order_id, cap)
        unit["payments"] = {"captures": [cap]}
        order["status"] = "COMPLETED"
        return 201, self._order(order_id)

    def _refund(self, capture_id: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if capture_id not in self.state.captures:
            raise PeerError(404, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
        order_id, cap = self.state.captures[capture_id]
        if cap["status"] not in ("COMPLETED", "PARTIALLY_REFUNDED"):
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
        total = Decimal(cap["amount"]["value"])
        done = self.state.refunded.get(capture_id, Decimal(0))
        amount = body.get("amount") or {"currency_code": cap["amount"]["currency_code"],
                                        "value": str(total - done)}
        _check_amount(amount)
        if amount["currency_code"] != cap["amount"]["currency_code"]:
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "REFUND_CURRENCY_MISMATCH")
        if done + Decimal(amount["value"]) > total:
            raise PeerError(422, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
        done += Decimal(amount["value"])
        self.state.refunded[capture_id] = done
        cap["status"] = "REFUNDED" if done == total else "PARTIALLY_REFUNDED"
        self.state.orders[order_id]["purchase_units"][0]["payments"]["captures"] = [cap]
        rid = paypal_id("R")
        return 201, {"id": rid, "status": "COMPLETED", "amount": amount,
                     "create_time": now_text(), "update_time": now_text(),
                     "links": [{"href": f"https://api.sandbox.paypal.com/v2/payments/refunds/"
                                f"{rid}", "rel": "self", "method": "GET"}]}


def _handler(peer: PayPalPeer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                status, body = peer.handle(method, self.path.split("?")[0], self.headers, raw)
            except PeerError as exc:
                status, body = exc.status, exc.body()
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Paypal-Debug-Id", secrets.token_hex(6))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
