"""Idempotency-Key with Stripe's semantics, for every request that moves value.

The key row is inserted first, in the same transaction as the work: a concurrent request with
the same key waits on the row and then replays the committed response; a failed request
rolls back its key with everything else, so it may be retried. The same key with another body
or path is refused with ``IdempotencyKeyReused``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.errors import IdempotencyKeyReused, InvalidInput
from topup.orders.tables import idempotency_keys

MAX_KEY = 255


class IdempotencyKeyRequired(InvalidInput):
    """Raised when a value-moving request comes without an Idempotency-Key header."""

    code = "idempotency_key_required"
    status = 400
    title = "Idempotency-Key header required"


@dataclass(frozen=True)
class Outcome:
    """A response to send: status, JSON body, and whether it is a replay."""

    status: int
    body: Any
    replayed: bool


def request_hash(method: str, path: str, body: Any) -> str:
    """A stable digest of what was asked."""
    canon = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()


def require_key(key: str | None) -> str:
    """The Idempotency-Key, or IdempotencyKeyRequired when it is missing or too long."""
    if not key or len(key) > MAX_KEY:
        raise IdempotencyKeyRequired(f"send an Idempotency-Key header of 1 to {MAX_KEY} characters")
    return key


def _claim(uow: UnitOfWork, owner_id: int, key: str, method: str, path: str, digest: str
           ) -> Outcome | None:
    """Insert the key row (None), or the stored answer to replay; IdempotencyKeyReused when
    the key was used for another request."""
    claimed = uow.conn.execute(insert_ignore(uow, idempotency_keys, {
        "owner_id": owner_id, "key": key, "method": method, "path": path,
        "request_hash": digest, "status_code": 0, "response": {}, "created_at": uow.now,
    }, ["owner_id", "key"]).returning(idempotency_keys.c.owner_id)).first()
    if claimed is not None:
        return None
    row = uow.conn.execute(select(idempotency_keys).where(
        idempotency_keys.c.owner_id == owner_id, idempotency_keys.c.key == key)).one()
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key")
    return Outcome(row.status_code, row.response, True)


def replay(db: Database, owner_id: int, key: str, method: str, path: str, body: Any
           ) -> Outcome | None:
    """The stored answer to this request under ``key``, or None when there is none yet.

    For work that spans several units of work (a voucher redemption): look here first, do
    the work, and ``record`` the answer in the unit of work that completes it."""
    digest = request_hash(method, path, body)
    with db.unit(readonly=True) as uow:
        row = uow.conn.execute(select(idempotency_keys).where(
            idempotency_keys.c.owner_id == owner_id, idempotency_keys.c.key == key)).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key")
    return Outcome(row.status_code, row.response, True)


def record(uow: UnitOfWork, owner_id: int, key: str, method: str, path: str, body: Any,
           status: int, response: Any) -> None:
    """Store the answer under ``key`` in the caller's unit of work (with the work itself);
    raises IdempotencyKeyReused, undoing that work, if the key was taken meanwhile."""
    if _claim(uow, owner_id, key, method, path, request_hash(method, path, body)) is not None:
        raise IdempotencyKeyReused("this Idempotency-Key was used meanwhile; use a new key")
    uow.conn.execute(update(idempotency_keys).where(
        idempotency_keys.c.owner_id == owner_id, idempotency_keys.c.key == key,
    ).values(status_code=status, response=response))


def run_once(db: Database, owner_id: int, key: str | None, method: str, path: str, body: Any,
             work: Callable[[UnitOfWork], tuple[int, Any]]) -> Outcome:
    """Run ``work`` once per (owner, key); later calls with the same request replay it."""
    key = require_key(key)
    digest = request_hash(method, path, body)
    with db.unit() as uow:
        stored = _claim(uow, owner_id, key, method, path, digest)
        if stored is not None:
            return stored
        status, response = work(uow)
        uow.conn.execute(update(idempotency_keys).where(
            idempotency_keys.c.owner_id == owner_id, idempotency_keys.c.key == key,
        ).values(status_code=status, response=response))
    return Outcome(status, response, False)
