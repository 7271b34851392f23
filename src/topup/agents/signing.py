"""The terminal request signature: pure functions, no database.

A terminal signs every request with its secret::

    string_to_sign = f"{timestamp}\\n{nonce}\\n{METHOD}\\n{target}\\n" + sha256_hex(body)
    X-Signature    = hex(HMAC-SHA256(secret, string_to_sign))

``timestamp`` is the X-Timestamp header (unix seconds, decimal), ``nonce`` the X-Nonce header
(16 to 64 characters of ``A-Z a-z 0-9 - _``), ``METHOD`` upper-case, ``target`` the path as
sent plus ``?query`` when there is one, ``body`` the raw bytes (empty for a GET). The secret
is used as its UTF-8 text. See docs/agents.md for a worked example.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from topup.agents.errors import SignatureInvalid

WINDOW_SECONDS = 300
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
HEADERS = ("x-terminal-key", "x-timestamp", "x-nonce", "x-signature")


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that the signature covers, plus its claimed signer."""

    key_id: str
    timestamp: int
    nonce: str
    signature: str
    method: str
    target: str
    body: bytes


def string_to_sign(timestamp: int, nonce: str, method: str, target: str, body: bytes) -> str:
    """The exact text that is signed."""
    digest = hashlib.sha256(body).hexdigest()
    return f"{timestamp}\n{nonce}\n{method.upper()}\n{target}\n{digest}"


def sign(secret: str, timestamp: int, nonce: str, method: str, target: str, body: bytes
         ) -> str:
    """The X-Signature value (lower-case hex HMAC-SHA256)."""
    text = string_to_sign(timestamp, nonce, method, target, body)
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def signature_matches(secret: str, req: SignedRequest) -> bool:
    """True when ``req`` was signed with ``secret`` (compared in constant time)."""
    want = sign(secret, req.timestamp, req.nonce, req.method, req.target, req.body)
    return hmac.compare_digest(want, req.signature)


def within_window(timestamp: int, now_unix: int, window: int = WINDOW_SECONDS) -> bool:
    """True when the timestamp is at most ``window`` seconds from the server's clock."""
    return abs(now_unix - timestamp) <= window


def parse(headers: dict[str, str], method: str, target: str, body: bytes) -> SignedRequest:
    """Read the four signature headers (names case-insensitive); SignatureInvalid when one is
    missing or malformed. Nothing here says whether the signature is right."""
    h = {k.lower(): v.strip() for k, v in headers.items()}
    missing = [name for name in HEADERS if not h.get(name)]
    if missing:
        raise SignatureInvalid(f"send the headers {', '.join(HEADERS)}", missing=missing)
    ts = h["x-timestamp"]
    if not ts.isdigit() or len(ts) > 12:
        raise SignatureInvalid("X-Timestamp is unix seconds")
    if not NONCE.match(h["x-nonce"]):
        raise SignatureInvalid("X-Nonce has 16 to 64 characters of A-Z a-z 0-9 - _")
    if not HEX64.match(h["x-signature"].lower()) or not KEY_ID.match(h["x-terminal-key"]):
        raise SignatureInvalid("X-Signature is 64 hex digits; X-Terminal-Key a key id")
    return SignedRequest(h["x-terminal-key"], int(ts), h["x-nonce"], h["x-signature"].lower(),
                         method.upper(), target, body)
