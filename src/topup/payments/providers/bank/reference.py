"""ISO 11649 creditor references ("RF" + 2 check digits + up to 21 characters).

A reference is derived from the order id plus a short keyed check, so references are stable
for an order yet are not a guessable sequence: ``RF`` + check digits + the order id padded to
10 digits + 6 digits of an HMAC of the id. Payers type them by hand, so finding one in a bank's
free text is forgiving about spaces, separators and case, but never about the check digits.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

MAX_BODY = 21
ID_DIGITS = 10
CHECK_DIGITS = 6
_SPLIT = re.compile(r"[^0-9A-Z]+")


def reference_key(secret: str) -> bytes:
    """The key of the references' keyed check, derived from the app's secret."""
    return hmac.new(secret.encode(), b"bank-creditor-reference", hashlib.sha256).digest()


def creditor_reference(order_id: int, key: bytes) -> str:
    """The order's creditor reference in compact form, e.g. ``RF7100000000421234567``."""
    if order_id <= 0:
        raise ValueError("order ids are positive")
    mac = hmac.new(key, str(order_id).encode(), hashlib.sha256).digest()
    check = int.from_bytes(mac[:8], "big") % 10**CHECK_DIGITS
    body = f"{order_id:0{ID_DIGITS}d}{check:0{CHECK_DIGITS}d}"
    if len(body) > MAX_BODY:
        raise ValueError(f"order id {order_id} is too long for a creditor reference")
    return iso11649.validate(f"RF{mod_97_10.calc_check_digits(body + 'RF')}{body}")


def display(reference: str) -> str:
    """The reference in groups of four, as payers are asked to type it."""
    return str(iso11649.format(reference))


def normalise(text: str | None) -> str | None:
    """The compact reference if ``text`` is exactly one valid RF reference, else None."""
    if not text:
        return None
    compact = _SPLIT.sub("", text.upper())
    return compact if compact.startswith("RF") and iso11649.is_valid(compact) else None


def find_in_text(text: str | None) -> list[str]:
    """Every valid RF reference that free remittance text may hold, most likely first.

    The text is cut into alphanumeric tokens; from every token that starts with ``RF``,
    following tokens are joined on while the result fits in 25 characters, and each join with
    valid check digits is a candidate, the longest first (``"Topup rf38 0000 0000 0137 8049,
    thanks"`` gives ``RF380000000001378049``). A reference with a typo has wrong check digits
    and is not found; a short join that is valid by chance names no order and is passed over.
    """
    tokens = [t for t in _SPLIT.split((text or "").upper()) if t]
    found: list[str] = []
    for i, token in enumerate(tokens):
        if not token.startswith("RF"):
            continue
        joins: list[str] = []
        joined = ""
        for part in tokens[i:]:
            joined += part
            if len(joined) > 4 + MAX_BODY:
                break
            if iso11649.is_valid(joined):
                joins.append(joined)
        found.extend(j for j in reversed(joins) if j not in found)
    return found
