"""Offline verification of PayPal webhook transmissions.

PayPal signs ``<transmission id>|<transmission time>|<webhook id>|<crc32 of the raw body>``
(the CRC as an unsigned decimal) with RSA-SHA256 (``PAYPAL-AUTH-ALGO: SHA256withRSA``,
PKCS#1 v1.5); the signature is base64 in ``PAYPAL-TRANSMISSION-SIG`` and the signing
certificate is published at ``PAYPAL-CERT-URL``. We accept a certificate only

- from an ``https`` URL on a PayPal host (``paypal.com`` or a subdomain), and
- whose chain leads to a trusted root (the public web PKI by default), that is valid now,
  and whose subject is PayPal's ``messageverificationcerts…paypal.com``;

or, in test mode only, a certificate the operator pinned (``TOPUP_PAYPAL_CERT_PEM``), which
is then used whatever the header names. Certificates are cached per URL. A transmission more
than five minutes away from our clock is stale.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from topup.payments.errors import InvalidNotification, ProviderUnavailable

TOLERANCE_SECONDS = 300
ALGORITHM = "SHA256withRSA"
SIGNER_PREFIX = "messageverificationcerts"
MAX_CERT_BYTES = 64 * 1024
CACHE_SIZE = 32
HEADERS = ("paypal-transmission-id", "paypal-transmission-time", "paypal-transmission-sig",
           "paypal-cert-url", "paypal-auth-algo")

CertFetcher = Callable[[str], bytes]


def is_paypal_cert_url(url: str) -> bool:
    """An https URL on paypal.com or one of its subdomains, with no credentials or port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (parts.scheme == "https" and parts.username is None and parts.password is None
            and parts.port in (None, 443)
            and (host == "paypal.com" or host.endswith(".paypal.com")))


def signed_message(transmission_id: str, transmission_time: str, webhook_id: str,
                   body: bytes) -> bytes:
    """The exact bytes PayPal signs for one transmission."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


class WebhookVerifier:
    """Checks a transmission's headers and raw body; raises ``InvalidNotification``."""

    def __init__(self, webhook_id: str, fetch: CertFetcher, *,
                 pinned: x509.Certificate | None = None,
                 roots: list[x509.Certificate] | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.webhook_id = webhook_id
        self._fetch = fetch
        self._pinned = pinned
        self._roots = roots
        self._now = now
        self._cache: dict[str, x509.Certificate] = {}
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Accept the transmission or raise ``InvalidNotification`` saying why not."""
        given = {k.lower(): v.strip() for k, v in headers.items()}
        missing = [h for h in HEADERS if not given.get(h)]
        if missing:
            raise InvalidNotification(f"PayPal headers missing: {', '.join(missing)}")
        if given["paypal-auth-algo"] != ALGORITHM:
            raise InvalidNotification("unsupported PayPal signature algorithm")
        self._check_fresh(given["paypal-transmission-time"])
        try:
            signature = base64.b64decode(given["paypal-transmission-sig"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidNotification("PayPal signature is not base64") from exc
        cert = self._certificate(given["paypal-cert-url"])
        message = signed_message(given["paypal-transmission-id"],
                                 given["paypal-transmission-time"], self.webhook_id, body)
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise InvalidNotification("PayPal certificate does not hold an RSA key")
        try:
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise InvalidNotification("PayPal signature does not match") from exc

    def _check_fresh(self, stamp: str) -> None:
        try:
            at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError as exc:
            raise InvalidNotification("PayPal transmission time is unreadable") from exc
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        if abs(self._now() - at.timestamp()) > TOLERANCE_SECONDS:
            raise InvalidNotification("PayPal transmission is stale")

    def _certificate(self, url: str) -> x509.Certificate:
        if not is_paypal_cert_url(url):
            raise InvalidNotification("PayPal certificate URL is not on a PayPal host")
        if self._pinned is not None:
            self._check_dates(self._pinned)
            return self._pinned
        with self._lock:
            cert = self._cache.get(url)
        if cert is None:
            cert = self._load(url)
            with self._lock:
                if len(self._cache) >= CACHE_SIZE:
                    self._cache.pop(next(iter(self._cache)))
                self._cache[url] = cert
        self._check_dates(cert)
        return cert

    def _load(self, url: str) -> x509.Certificate:
        try:
            pem = self._fetch(url)
        except Exception as exc:  # whatever the fetcher raised: we cannot verify yet
            raise ProviderUnavailable("PayPal certificate could not be fetched") from exc
        if len(pem) > MAX_CERT_BYTES:
            raise InvalidNotification("PayPal certificate is too large")
        try:
            chain = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise InvalidNotification("PayPal certificate is not PEM") from exc
        leaf = chain[0]
        self._check_chain(leaf, chain[1:])
        return leaf

    def _check_chain(self, leaf: x509.Certificate, rest: list[x509.Certificate]) -> None:
        names = [str(a.value) for a in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        signer = [n for n in names if n.startswith(SIGNER_PREFIX) and n.endswith(".paypal.com")]
        if not signer:
            raise InvalidNotification("certificate is not PayPal's message-signing certificate")
        store = Store(self._roots if self._roots is not None else _public_roots())
        verifier = (PolicyBuilder().store(store)
                    .time(datetime.fromtimestamp(self._now(), UTC))
                    .build_server_verifier(x509.DNSName(signer[0])))
        try:
            verifier.verify(leaf, rest)
        except VerificationError as exc:
            raise InvalidNotification("PayPal certificate chain is not trusted") from exc

    def _check_dates(self, cert: x509.Certificate) -> None:
        now = self._now()
        if not (cert.not_valid_before_utc.timestamp() <= now
                <= cert.not_valid_after_utc.timestamp()):
            raise InvalidNotification("PayPal certificate is not valid now")


_ROOTS: list[x509.Certificate] | None = None


def _public_roots() -> list[x509.Certificate]:
    """The web PKI roots (certifi's bundle, which ``requests`` already brings)."""
    global _ROOTS
    if _ROOTS is None:
        import certifi

        with open(certifi.where(), "rb") as fh:
            _ROOTS = x509.load_pem_x509_certificates(fh.read())
    return _ROOTS


def fetch_https(url: str) -> bytes:
    """Download a certificate (no redirects; the URL was checked to be PayPal's)."""
    import httpx

    with httpx.Client(timeout=10.0, follow_redirects=False) as client:
        response = client.get(url)
        response.raise_for_status()
        return response.content


def load_certificate(text: str) -> x509.Certificate:
    """A PEM certificate given inline (``\\n`` escapes allowed) or as a file path."""
    pem = text.replace("\\n", "\n").strip()
    if not pem.startswith("-----BEGIN"):
        with open(pem, "rb") as fh:
            return x509.load_pem_x509_certificate(fh.read())
    return x509.load_pem_x509_certificate(pem.encode())
