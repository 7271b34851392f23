"""Checking a WeChat Pay notification: signature over the raw body, age, then decryption.

WeChat Pay signs ``"<Wechatpay-Timestamp>\\n<Wechatpay-Nonce>\\n<body>\\n"`` with SHA256withRSA
under the key named by ``Wechatpay-Serial`` (here: the WeChat Pay public key, id
``PUB_KEY_ID_…``), and encrypts the ``resource`` with AEAD_AES_256_GCM under the APIv3 key.
This is done here rather than by the SDK's ``callback``: the SDK verifies decoded text, has no
freshness check, and downloads certificates when the serial is unknown.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256

from topup.payments.errors import InvalidNotification

TOLERANCE_SECONDS = 300
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
HEADERS = ("wechatpay-timestamp", "wechatpay-nonce", "wechatpay-signature", "wechatpay-serial")


def verify(headers: Mapping[str, str], body: bytes, key: RSAPublicKey, key_id: str,
           now: float) -> None:
    """Raise InvalidNotification unless ``body`` is fresh and signed by WeChat Pay's key."""
    lowered = {k.lower(): v.strip() for k, v in headers.items()}
    timestamp, nonce, signature, serial = (lowered.get(h, "") for h in HEADERS)
    if not (timestamp and nonce and signature and serial):
        raise InvalidNotification("WeChat Pay signature headers are missing")
    if lowered.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
        raise InvalidNotification("unsupported Wechatpay-Signature-Type")
    if serial != key_id:
        # Never fetch keys on demand: an unknown serial is simply not ours to trust.
        raise InvalidNotification(f"unknown Wechatpay-Serial {serial[:64]!r}")
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise InvalidNotification("Wechatpay-Timestamp is not a number")
    try:
        raw_signature = base64.b64decode(signature, validate=True)
        message = b"%s\n%s\n%s\n" % (timestamp.encode(), nonce.encode(), body)
        key.verify(raw_signature, message, PKCS1v15(), SHA256())
    except (binascii.Error, ValueError, InvalidSignature) as exc:
        raise InvalidNotification("WeChat Pay signature does not match") from exc
    # The age is only meaningful once the timestamp is known to be WeChat Pay's own.
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        raise InvalidNotification("WeChat Pay notification is too old (or from the future)")


def read_event(body: bytes) -> dict[str, Any]:
    """The notification envelope (``id``, ``event_type``, ``resource`` …)."""
    try:
        event = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidNotification("WeChat Pay notification is not JSON") from exc
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise InvalidNotification("WeChat Pay notification has no id")
    return event


def decrypt(resource: Any, apiv3_key: str) -> dict[str, Any]:
    """Decrypt an AEAD_AES_256_GCM ``resource`` with the APIv3 key."""
    if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
        raise InvalidNotification("WeChat Pay resource is not AEAD_AES_256_GCM")
    try:
        plain = AESGCM(apiv3_key.encode()).decrypt(
            str(resource["nonce"]).encode(), base64.b64decode(resource["ciphertext"]),
            str(resource.get("associated_data") or "").encode())
        data = json.loads(plain)
    except (KeyError, binascii.Error, ValueError, InvalidTag) as exc:
        raise InvalidNotification(
            "cannot decrypt the WeChat Pay resource (check TOPUP_WECHATPAY_APIV3_KEY)") from exc
    if not isinstance(data, dict):
        raise InvalidNotification("WeChat Pay resource is not an object")
    return data
