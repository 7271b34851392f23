"""The text a request's digest is taken over: ``json.dumps(value, sort_keys=True)``, made
without the general encoder for the few shapes a charging request or usage record has.

Digests are stored (a retransmission is told from a conflict by comparing them), so the text
must stay exactly what ``json.dumps`` gave when they were first written; tests/unit/charging
checks the two against each other over generated values. Building it here is about four
times faster than ``json.dumps``, which the writer called three times per charging request;
``request_digest`` and ``record_digest`` write the two shapes the writer hashes for every
request straight into the text, about three times faster again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii as _text
from typing import Any


def json_text(value: Any) -> str:
    """``json.dumps(value, sort_keys=True)`` for None, bools, ints, strings, and lists,
    tuples and string-keyed dicts of them; anything else goes to ``json.dumps``."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is list or kind is tuple:
        return "[" + ", ".join([json_text(v) for v in value]) + "]"
    if kind is dict and all(type(k) is str for k in value):
        return "{" + ", ".join([f"{_text(k)}: {json_text(value[k])}"
                                for k in sorted(value)]) + "}"
    return json.dumps(value, sort_keys=True)


def sha256_of(value: Any) -> str:
    """The hex SHA-256 of ``json_text(value)``."""
    return hashlib.sha256(json_text(value).encode()).hexdigest()


def request_digest(kind: str, line_id: int | None, country: str | None,
                   asks: Sequence[Any]) -> str:
    """``sha256_of([kind, line_id, country, [ask, …]])``, each ask (``rating_group``,
    ``unit``, ``used``, ``requested``) as the dict of its fields ``asdict`` gives, written
    straight into the text for the usual types (ints, strings, None), else through
    ``sha256_of``: the writer takes one per charging request."""
    if type(kind) is str and (line_id is None or type(line_id) is int) \
            and (country is None or type(country) is str):
        items = []
        for a in asks:
            rg, requested, unit, used = a.rating_group, a.requested, a.unit, a.used
            if type(rg) is not int or type(unit) is not str \
                    or (requested is not None and type(requested) is not int) \
                    or (used is not None and type(used) is not int):
                break
            items.append(f'{{"rating_group": {rg}, '
                         f'"requested": {"null" if requested is None else requested}, '
                         f'"unit": {_text(unit)}, "used": {"null" if used is None else used}}}')
        else:
            text = (f'[{_text(kind)}, {"null" if line_id is None else line_id}, '
                    f'{"null" if country is None else _text(country)}, [{", ".join(items)}]]')
            return hashlib.sha256(text.encode()).hexdigest()
    return sha256_of([kind, line_id, country, [
        {"rating_group": a.rating_group, "requested": a.requested, "unit": a.unit,
         "used": a.used} for a in asks]])


def record_digest(line_id: int, unit: str, quantity: int, country: str, at: str) -> str:
    """``sha256_of([line_id, unit, quantity, country, at])`` (``at`` in ISO form), written
    straight for ints and strings: one per usage record."""
    if type(line_id) is int and type(unit) is str and type(quantity) is int \
            and type(country) is str and type(at) is str:
        text = f"[{line_id}, {_text(unit)}, {quantity}, {_text(country)}, {_text(at)}]"
        return hashlib.sha256(text.encode()).hexdigest()
    return sha256_of([line_id, unit, quantity, country, at])
