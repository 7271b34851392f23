"""The text a request's digest is taken over: ``json.dumps(value, sort_keys=True)``, made
without the general encoder for the few shapes a charging request or usage record has.

Digests are stored (a retransmission is told from a conflict by comparing them), so the text
must stay exactly what ``json.dumps`` gave when they were first written; tests/unit/charging
checks the two against each other over generated values. Building it here is about four
times faster than ``json.dumps``, which the writer called three times per charging request.
"""

from __future__ import annotations

import hashlib
import json
from json.encoder import encode_basestring_ascii
from typing import Any


def json_text(value: Any) -> str:
    """``json.dumps(value, sort_keys=True)`` for None, bools, ints, strings, and lists,
    tuples and string-keyed dicts of them; anything else goes to ``json.dumps``."""
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is list or kind is tuple:
        return "[" + ", ".join([json_text(v) for v in value]) + "]"
    if kind is dict and all(type(k) is str for k in value):
        return "{" + ", ".join([f"{encode_basestring_ascii(k)}: {json_text(value[k])}"
                                for k in sorted(value)]) + "}"
    return json.dumps(value, sort_keys=True)


def sha256_of(value: Any) -> str:
    """The hex SHA-256 of ``json_text(value)``."""
    return hashlib.sha256(json_text(value).encode()).hexdigest()
