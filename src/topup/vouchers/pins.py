"""Voucher PINs: generated from the OS CSPRNG, Luhn check digit last, stored only as an HMAC.

The check digit catches typos (one wrong digit, most swaps of neighbours) before any lookup;
it is public arithmetic, so it protects nothing against guessing: the guessing defence is the
size of the PIN space (10^13 to 10^15) and the attempt limits in ``redemption``.

The hash is HMAC-SHA256 under a key derived from the server's secret key for this one purpose
(``HMAC(secret_key, "voucher-pin-v1")``): a stolen database alone cannot test PINs offline.
Rotating ``TOPUP_SECRET_KEY`` therefore invalidates every unredeemed voucher.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata
from array import array
from collections.abc import Iterable

from stdnum import luhn

from topup.vouchers.errors import WrongPin

MIN_LENGTH, MAX_LENGTH, DEFAULT_LENGTH = 14, 16, 16
_SEPARATORS = re.compile(r"[\s\-]")
_DIGITS = re.compile(r"^[0-9]+$")
PURPOSE = b"voucher-pin-v1"

TYPO = ("check the PIN for a typo: it has 14 to 16 digits and the last one is a check digit")


class PinHasher:
    """Computes the stored form of a PIN; build once, call many times (the batch generator)."""

    def __init__(self, secret_key: str) -> None:
        key = hmac.new(secret_key.encode(), PURPOSE, hashlib.sha256).digest()
        self._mac = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, pin: str) -> str:
        mac = self._mac.copy()
        mac.update(pin.encode("ascii"))
        return mac.hexdigest()

    def many(self, pins: Iterable[str]) -> list[str]:
        """The stored forms of ``pins``, in order (the same as calling once for each)."""
        out = []
        for pin in pins:
            mac = self._mac.copy()
            mac.update(pin.encode("ascii"))
            out.append(mac.hexdigest())
        return out


def pin_hash(secret_key: str, pin: str) -> str:
    """The stored form of one PIN (hex HMAC-SHA256 under the derived PIN key)."""
    return PinHasher(secret_key)(pin)


def new_pin(length: int = DEFAULT_LENGTH) -> str:
    """A fresh random PIN of ``length`` digits whose last digit is the Luhn check digit."""
    return new_pins(1, length)[0]


def _luhn_groups() -> list[int]:
    # Luhn doubles every second digit from the right of the body (the check digit comes
    # after it); a group of four body digits starting at an even place is weighted the same
    # wherever it sits, so one table of 10^4 sums serves every group.
    twice = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
    return [twice[g % 10] + g // 10 % 10 + twice[g // 100 % 10] + g // 1000
            for g in range(10_000)]


_GROUP_SUM = _luhn_groups()


def new_pins(n: int, length: int = DEFAULT_LENGTH) -> list[str]:
    """``n`` fresh random PINs as ``new_pin`` makes them, from one read of the OS CSPRNG.

    Each body is a uniform draw below 10^(length-1): 64-bit words at or above the largest
    multiple of it are thrown away, so that no body is likelier than another.
    """
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"a PIN has {MIN_LENGTH} to {MAX_LENGTH} digits")
    space = 10 ** (length - 1)
    fair = (1 << 64) // space * space
    group = _GROUP_SUM
    out: list[str] = []
    while len(out) < n:
        for word in array("Q", secrets.token_bytes(8 * (n - len(out)))):
            if word < fair:
                body = word % space
                total = (group[body % 10_000] + group[body // 10_000 % 10_000]
                         + group[body // 100_000_000 % 10_000] + group[body // 10 ** 12])
                out.append(f"{body * 10 + (10 - total % 10) % 10:0{length}d}")
    return out


def normalise(raw: str) -> str:
    """The PIN's digits: spaces and dashes dropped, full-width digits folded to ASCII.

    Raises WrongPin (a typo: nothing was looked up) when it is not 14 to 16 digits with a
    valid check digit.
    """
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw or ""))
    if not _DIGITS.match(text) or not MIN_LENGTH <= len(text) <= MAX_LENGTH:
        raise WrongPin(TYPO, typo=True)
    if not luhn.is_valid(text):
        raise WrongPin(TYPO, typo=True)
    return text


def grouped(pin: str) -> str:
    """The PIN in groups of four for print: ``1234 5678 9012 3456``."""
    return " ".join(pin[i:i + 4] for i in range(0, len(pin), 4))
