"""Confirmation codes kept sealed: AES-256-GCM under a key derived from the secret key.

A confirmation code is the second factor of an eSIM download (SGP.22 §4.1, an activation
code ending ``$1``); whoever holds both codes can install the profile. It is stored only
sealed, with the profile's ICCID bound in as associated data so a sealed code cannot be moved
to another profile, and opened only to be sent to the buyer.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from topup.esim.errors import SealBroken

_PURPOSE = b"topup esim confirmation code v1"
_NONCE = 12


def _key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=_PURPOSE).derive(secret_key.encode())


def seal(secret_key: str, iccid: str, code: str) -> str:
    """``code`` encrypted for the profile ``iccid`` (text, for a column)."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(secret_key)).encrypt(nonce, code.encode(), iccid.encode())
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(secret_key: str, iccid: str, sealed: str) -> str:
    """The code sealed for ``iccid``; SealBroken when the key or the profile differ."""
    version, _, body = sealed.partition(":")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
        if version != "v1" or len(raw) <= _NONCE:
            raise ValueError(version)
        return AESGCM(_key(secret_key)).decrypt(raw[:_NONCE], raw[_NONCE:],
                                                iccid.encode()).decode()
    except (InvalidTag, ValueError) as exc:
        raise SealBroken(f"the confirmation code of {iccid} cannot be opened "
                         "(was TOPUP_SECRET_KEY changed?)") from exc
