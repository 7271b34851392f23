"""Normalising and validating logins and line identifiers (e-mail, E.164, ICCID)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
import unicodedata

import phonenumbers
from stdnum import luhn

from topup.errors import InvalidInput
from topup.subscribers.errors import InvalidIccid, InvalidMsisdn, WeakCardSecret

# One mailbox, nothing else: a dot-atom local part (RFC 5322, no quoted forms) and a host
# name of letters, digits and hyphens (IDN domains in their xn-- form). Commas, quotes, angle
# brackets, spaces and control characters never pass, so an address can never become two
# SMTP recipients or a header of its own.
_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_TLD = r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})"
_EMAIL = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_TLD}$")


def normalise_email(raw: str) -> str:
    """Lower-cased, trimmed address; raises InvalidInput when it cannot be an address."""
    email = raw.strip().lower()
    local = email.split("@", 1)[0]
    if len(email) > 254 or len(local) > 64 or not _EMAIL.fullmatch(email):
        raise InvalidInput("not a valid e-mail address", field="email")
    return email


def normalise_phone(raw: str) -> str:
    """E.164 form (``+66812345678``); raises InvalidMsisdn unless valid with a country code."""
    text = raw.strip()
    if text.isdigit():
        text = "+" + text
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidMsisdn(f"not an international phone number: {raw!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidMsisdn(f"not a valid phone number: {raw!r}")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def canonical_login(raw: str) -> str:
    """One spelling per login, for lookups and throttle keys alike: full-width forms folded
    (NFKC), e-mail lower-cased, phone numbers in E.164; other text folded and lower-cased."""
    text = unicodedata.normalize("NFKC", raw).strip()
    if "@" in text:
        return text.lower()
    try:
        return normalise_phone(text)
    except InvalidInput:
        return text.lower()


def msisdn_digits(raw: str) -> str:
    """MSISDN as stored on lines: E.164 digits without the plus sign."""
    return normalise_phone(raw).lstrip("+")


def normalise_iccid(raw: str) -> str:
    """ICCID digits; 18-20 digits, ``89`` prefix (telecom), valid Luhn check digit."""
    iccid = re.sub(r"[\s-]", "", raw or "")
    if not iccid.isdigit() or not 18 <= len(iccid) <= 20 or not iccid.startswith("89"):
        raise InvalidIccid("an ICCID has 18 to 20 digits and starts with 89", field="iccid")
    if not luhn.is_valid(iccid):
        raise InvalidIccid("the ICCID check digit is wrong; please re-type it", field="iccid")
    return iccid


def looks_like_iccid(raw: str) -> bool:
    """True when ``raw`` has the shape of an ICCID rather than a phone number."""
    digits = re.sub(r"[\s-]", "", raw or "")
    return digits.isdigit() and digits.startswith("89") and len(digits) >= 18


def keyed_hash(secret_key: str, purpose: str, value: str) -> str:
    """HMAC-SHA256 of ``value`` under the server key, separated by purpose (hex)."""
    msg = f"{purpose}\x00{value}".encode()
    return hmac.new(secret_key.encode(), msg, hashlib.sha256).hexdigest()


def _is_run(text: str) -> bool:
    """``12345678``, ``87654321``, ``abcdefgh``: each character one step from the last."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(text)}
    return len(steps) == 1 and steps <= {1, -1}


def check_card_secret(secret: str, min_length: int) -> None:
    """Raise WeakCardSecret unless a new line's card secret is hard enough to guess: at least
    ``min_length`` characters, not one character repeated, not a run, not a short pattern
    repeated (``12121212``)."""
    text = (secret or "").strip()
    if len(text) < min_length:
        raise WeakCardSecret(f"a card secret has at least {min_length} characters",
                             field="secret")
    lowered = text.lower()
    repeated = any(len(lowered) % n == 0 and lowered == lowered[:n] * (len(lowered) // n)
                   for n in range(1, len(lowered) // 2 + 1))
    if repeated or _is_run(lowered):
        raise WeakCardSecret("a card secret must not be a repeated pattern or a run like "
                             "12345678", field="secret")
