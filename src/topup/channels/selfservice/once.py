"""Exactly-once replies at the edge: a USSD gateway that retransmits a request (same session,
same input), an SMSC that delivers the same message twice, get the first reply back instead of
a second purchase, redemption or reply SMS.

The reply is stored in the same transaction as the work it reports, so either both happened or
neither did: ``once`` runs work that fits one unit of work; work that commits units of its own
(a voucher redemption) takes ``record`` as the last step of its final unit. The store is the
orders' Idempotency-Key table (``orders.idempotency``), UNIQUE per (owner, key), under owner
``0``: channel requests act for no logged-in user, and no user has id 0, so channel keys never
meet a key a user chose. Keys name the channel first (``ussd:…``, ``sms:…``, ``ivr:…``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from topup.db.uow import Database, UnitOfWork
from topup.orders import idempotency
from topup.orders.idempotency import MAX_KEY, run_once

CHANNEL_OWNER = 0


def key_for(channel: str, *parts: object) -> str:
    """A key naming one request of ``channel``; long ones are hashed to fit the store."""
    key = ":".join([channel, *map(str, parts)])
    if len(key) <= MAX_KEY:
        return key
    return f"{channel}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _path(key: str) -> str:
    return f"/channels/{key.split(':', 1)[0]}"


def once(db: Database, key: str, work: Callable[[UnitOfWork], dict[str, Any]], *,
         retry: bool = False) -> tuple[dict[str, Any], bool]:
    """Run ``work`` (its unit also claims ``key``) unless ``key`` ran before; returns what the
    first run returned and whether this is a replay. A refusal raised by ``work`` rolls the
    claim back with everything else, so the same request may be tried again. ``retry``:
    ``work`` only writes to the database (see ``run_once``)."""
    outcome = run_once(db, CHANNEL_OWNER, key, "POST", _path(key), {},
                       lambda uow: (200, work(uow)), retry=retry)
    return dict(outcome.body), outcome.replayed


def record(uow: UnitOfWork, key: str, reply: dict[str, Any]) -> None:
    """Store ``reply`` under ``key`` in the caller's unit of work, the one that does the
    work; should a twin request have stored it meanwhile, that unit is undone
    (IdempotencyKeyReused) and ``replayed`` then finds the twin's reply."""
    idempotency.record(uow, CHANNEL_OWNER, key, "POST", _path(key), {}, 200, reply)


def replayed(db: Database, key: str) -> dict[str, Any] | None:
    """What ``key`` answered before, or None when it never ran (nothing is claimed then)."""
    found = idempotency.replay(db, CHANNEL_OWNER, key, "POST", _path(key), {})
    return None if found is None else dict(found.body)
