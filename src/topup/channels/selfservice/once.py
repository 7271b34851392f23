"""Doing a gateway's request once: a USSD gateway that retries a request, an SMSC that delivers
the same message twice, get the first answer back instead of a second purchase or reply.

It reuses the orders' Idempotency-Key records (``orders.idempotency.run_once``) under owner
``0``: channel requests act for no logged-in user, and no user has id 0, so channel keys never
meet a key a user chose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from topup.db.uow import Database, UnitOfWork
from topup.orders.idempotency import MAX_KEY, run_once

CHANNEL_OWNER = 0


def key_for(channel: str, *parts: object) -> str:
    """A key naming one request of ``channel``; long ones are hashed to fit the store."""
    key = ":".join([channel, *map(str, parts)])
    if len(key) <= MAX_KEY:
        return key
    return f"{channel}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def once(db: Database, key: str, work: Callable[[UnitOfWork], dict[str, Any]]
         ) -> tuple[dict[str, Any], bool]:
    """Run ``work`` (its unit also claims ``key``) unless ``key`` ran before; returns what the
    first run returned and whether this is a replay. A refusal raised by ``work`` rolls the
    claim back with everything else, so the same request may be tried again."""
    outcome = run_once(db, CHANNEL_OWNER, key, "POST", f"/channels/{key.split(':', 1)[0]}", {},
                       lambda uow: (200, work(uow)))
    return dict(outcome.body), outcome.replayed


class _Fresh(Exception):
    """Raised inside a claim to roll it back: the key had not been used."""


def _fresh(uow: UnitOfWork) -> dict[str, Any]:
    raise _Fresh


def replayed(db: Database, key: str) -> dict[str, Any] | None:
    """What ``key`` answered before, or None when it never ran (nothing is claimed then).

    For work that commits its own units (a voucher redemption, a card payment) and so cannot
    run inside ``once``: look first, do the work, then ``once`` to record the answer.
    """
    try:
        body, _ = once(db, key, _fresh)
    except _Fresh:
        return None
    return body
