"""Alipay settings, read from ``TOPUP_ALIPAY_*`` variables and checked at start-up.

Keys are accepted as PEM text (literal ``\\n`` escapes allowed, as env files often hold them)
or as the bare base64 that Alipay's key tool and console show; either way they are checked
here (RSA, at least 2048 bits) and handed to the SDK as PEM, so a bad key is a start-up
error naming its variable rather than a failure on the first payment.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from topup.payments.registry import ProviderConfigError

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
MODES = ("precreate", "page", "wap")
TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"", "0", "false", "no", "off"})
# Alipay allows letters, digits and underscores in out_trade_no (at most 64 characters).
TRADE_PREFIX = re.compile(r"^[A-Za-z0-9_]{1,40}$")
MIN_KEY_BITS = 2048


@dataclass(frozen=True)
class AlipayConfig:
    """Everything the provider needs; keys are normalised PEM text."""

    app_id: str
    app_private_key: str
    alipay_public_key: str
    gateway: str = PRODUCTION_GATEWAY
    mode: str = "precreate"
    seller_id: str | None = None
    trade_prefix: str = "topup_"
    timeout_seconds: float = 15.0
    notify_max_age: timedelta = timedelta(hours=48)

    @property
    def test_mode(self) -> bool:
        """Anything but Alipay's production gateway is a test (the sandbox, a local peer)."""
        return self.gateway != PRODUCTION_GATEWAY


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ProviderConfigError(f"{name} must be true or false, not {value!r}")


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise ProviderConfigError(f"{name} must be a number, not {raw!r}") from exc
    if not value > 0:
        raise ProviderConfigError(f"{name} must be positive")
    return value


def _key_bytes(value: str) -> tuple[bytes, bool]:
    """The key as bytes, and whether they are PEM (else DER from bare base64)."""
    text = value.strip().replace("\\n", "\n")
    if text.startswith("-----BEGIN"):
        return text.encode(), True
    try:
        return base64.b64decode("".join(text.split()), validate=True), False
    except (binascii.Error, ValueError) as exc:
        raise ValueError("neither PEM nor base64") from exc


def _check_rsa(key: object, name: str) -> None:
    if not isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        raise ProviderConfigError(f"{name} must be an RSA key (Alipay RSA2)")
    if key.key_size < MIN_KEY_BITS:
        raise ProviderConfigError(f"{name} must be at least {MIN_KEY_BITS} bits for RSA2")


def private_key_pem(value: str, name: str) -> str:
    """Normalise an RSA private key (PKCS#1 or PKCS#8, PEM or bare base64) to PKCS#8 PEM."""
    try:
        data, is_pem = _key_bytes(value)
        load = serialization.load_pem_private_key if is_pem else \
            serialization.load_der_private_key
        key = load(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ProviderConfigError(f"{name} is not a readable RSA private key") from exc
    _check_rsa(key, name)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_key_pem(value: str, name: str) -> str:
    """Normalise an RSA public key (PEM or bare base64) to SubjectPublicKeyInfo PEM."""
    try:
        data, is_pem = _key_bytes(value)
        load = serialization.load_pem_public_key if is_pem else \
            serialization.load_der_public_key
        key = load(data)
    except (ValueError, TypeError) as exc:
        raise ProviderConfigError(f"{name} is not a readable RSA public key") from exc
    _check_rsa(key, name)
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _gateway(env: Mapping[str, str]) -> str:
    sandbox = _flag(env, "TOPUP_ALIPAY_SANDBOX")
    gateway = env.get("TOPUP_ALIPAY_GATEWAY", "").strip()
    if not gateway:
        return SANDBOX_GATEWAY if sandbox else PRODUCTION_GATEWAY
    if not gateway.startswith(("https://", "http://")):
        raise ProviderConfigError("TOPUP_ALIPAY_GATEWAY must be an http(s) URL")
    if sandbox and gateway == PRODUCTION_GATEWAY:
        raise ProviderConfigError("TOPUP_ALIPAY_SANDBOX contradicts the production "
                                  "TOPUP_ALIPAY_GATEWAY")
    return gateway


def _options(env: Mapping[str, str]) -> dict[str, str]:
    mode = env.get("TOPUP_ALIPAY_MODE", "").strip().lower() or "precreate"
    if mode not in MODES:
        raise ProviderConfigError(f"TOPUP_ALIPAY_MODE must be one of {MODES}, not {mode!r}")
    prefix = env.get("TOPUP_ALIPAY_TRADE_PREFIX", "").strip() or "topup_"
    if not TRADE_PREFIX.match(prefix):
        raise ProviderConfigError("TOPUP_ALIPAY_TRADE_PREFIX may hold only letters, digits "
                                  "and underscores (at most 40)")
    return {"mode": mode, "trade_prefix": prefix}


def read_config(env: Mapping[str, str], require: Callable[[str], str]) -> AlipayConfig:
    """Build the configuration; ``require(name)`` returns a required variable or raises."""
    max_age_hours = _positive(env, "TOPUP_ALIPAY_NOTIFY_MAX_AGE_HOURS", 48.0)
    return AlipayConfig(
        app_id=require("TOPUP_ALIPAY_APP_ID"),
        app_private_key=private_key_pem(require("TOPUP_ALIPAY_APP_PRIVATE_KEY"),
                                        "TOPUP_ALIPAY_APP_PRIVATE_KEY"),
        alipay_public_key=public_key_pem(require("TOPUP_ALIPAY_PUBLIC_KEY"),
                                         "TOPUP_ALIPAY_PUBLIC_KEY"),
        gateway=_gateway(env),
        seller_id=env.get("TOPUP_ALIPAY_SELLER_ID", "").strip() or None,
        timeout_seconds=_positive(env, "TOPUP_ALIPAY_TIMEOUT_SECONDS", 15.0),
        notify_max_age=timedelta(hours=max_age_hours),
        **_options(env),
    )
