"""WeChat Pay settings, read from ``TOPUP_WECHATPAY_*`` and checked once at start-up.

Secrets never appear in ``repr``; a malformed key is a start-up error naming its variable,
not a failure at the first payment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from topup.payments.registry import ProviderConfigError, ProviderContext

PRODUCTION_GATEWAYS = ("https://api.mch.weixin.qq.com", "https://api2.mch.weixin.qq.com")
PREFIX = "TOPUP_WECHATPAY_"
_TRADE_PREFIX = re.compile(r"[A-Za-z0-9-]{1,8}")


@dataclass(frozen=True)
class WeChatPayConfig:
    """Everything the WeChat Pay adapter needs; built by ``from_env``."""

    mchid: str
    appid: str
    cert_serial_no: str
    public_key_id: str
    private_key: str = field(repr=False)
    apiv3_key: str = field(repr=False)
    public_key: str = field(repr=False)
    gateway: str = PRODUCTION_GATEWAYS[0]
    notify_url: str | None = None
    trade_prefix: str = "TU"
    timeout_seconds: float = 15.0

    @property
    def test_mode(self) -> bool:
        """True when the gateway is not WeChat Pay itself (there is no v3 sandbox)."""
        return self.gateway not in PRODUCTION_GATEWAYS

    def verifying_key(self) -> RSAPublicKey:
        """The WeChat Pay public key that signs responses and notifications."""
        return _public_key(self.public_key, PREFIX + "PUBLIC_KEY")

    def sdk_keys(self) -> tuple[str, str]:
        """The merchant private key (PKCS#8) and WeChat Pay public key (SPKI) as the SDK reads
        them: it assumes exactly these PEM armours."""
        private = _private_key(self.private_key, PREFIX + "PRIVATE_KEY").private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        public = self.verifying_key().public_bytes(Encoding.PEM,
                                                   PublicFormat.SubjectPublicKeyInfo)
        return private.decode(), public.decode()

    @classmethod
    def from_env(cls, ctx: ProviderContext) -> WeChatPayConfig:
        """Read and check the variables; raises ProviderConfigError naming the culprit."""
        env = ctx.env
        config = cls(
            mchid=ctx.require(PREFIX + "MCHID"), appid=ctx.require(PREFIX + "APPID"),
            cert_serial_no=ctx.require(PREFIX + "CERT_SERIAL_NO"),
            public_key_id=ctx.require(PREFIX + "PUBLIC_KEY_ID"),
            private_key=_pem(ctx.require(PREFIX + "PRIVATE_KEY")),
            apiv3_key=ctx.require(PREFIX + "APIV3_KEY"),
            public_key=_pem(ctx.require(PREFIX + "PUBLIC_KEY")),
            gateway=(env.get(PREFIX + "GATEWAY", "").strip() or PRODUCTION_GATEWAYS[0]).rstrip("/"),
            notify_url=env.get(PREFIX + "NOTIFY_URL", "").strip() or None,
            trade_prefix=env.get(PREFIX + "TRADE_PREFIX", "").strip() or "TU",
            timeout_seconds=_seconds(env.get(PREFIX + "TIMEOUT_SECONDS", "").strip() or "15"),
        )
        config.check(ctx.settings.public_url)
        return config

    def check(self, public_url: str) -> None:
        """Fail at start-up on anything that would only fail at the first payment."""
        if len(self.apiv3_key.encode()) != 32:
            raise ProviderConfigError(f"{PREFIX}APIV3_KEY must be exactly 32 bytes")
        if not _TRADE_PREFIX.fullmatch(self.trade_prefix):
            raise ProviderConfigError(f"{PREFIX}TRADE_PREFIX must be 1-8 letters, digits or -")
        _private_key(self.private_key, PREFIX + "PRIVATE_KEY")
        self.verifying_key()
        notify = self.notify_url or public_url
        if not self.test_mode and not notify.startswith("https://"):
            raise ProviderConfigError(
                "WeChat Pay only notifies https URLs: set TOPUP_PUBLIC_URL (or "
                f"{PREFIX}NOTIFY_URL) to an https address")


def _pem(value: str) -> str:
    """PEM text from an env var, where newlines are often written as a literal ``\\n``."""
    return value.replace("\\n", "\n").strip()


def _armoured(value: str, kind: str) -> bytes:
    if value.startswith("-----BEGIN"):
        return value.encode()
    return f"-----BEGIN {kind}-----\n{value}\n-----END {kind}-----\n".encode()


def _private_key(value: str, name: str) -> RSAPrivateKey:
    try:
        key = load_pem_private_key(_armoured(value, "PRIVATE KEY"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ProviderConfigError(f"{name} is not a PEM private key") from exc
    if not isinstance(key, RSAPrivateKey):
        raise ProviderConfigError(f"{name} must be an RSA key (apiclient_key.pem)")
    return key


def _public_key(value: str, name: str) -> RSAPublicKey:
    try:
        key = load_pem_public_key(_armoured(value, "PUBLIC KEY"))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ProviderConfigError(f"{name} is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise ProviderConfigError(f"{name} must be an RSA public key (pub_key.pem)")
    return key


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise ProviderConfigError(f"{PREFIX}TIMEOUT_SECONDS must be a number") from exc
    if not 0 < value <= 120:
        raise ProviderConfigError(f"{PREFIX}TIMEOUT_SECONDS must be between 0 and 120")
    return value
