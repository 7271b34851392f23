"""Idempotency-Key with Stripe's semantics, for every request that moves value.

The key row is inserted first, in the same transaction as the work: a concurrent request with
the same key waits on the row and then replays the committed response; a failed request
rolls back its key with everything else, so it may be retried. The same key with another body
or path is refused with ``IdempotencyKeyReused``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import select, update

from topup.db.bulk import Query, among
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
    """A response to send: status, JSON body, and whether it is a replay. ``encoded``, when
    the writer made it, is the body as the response sends it (``encode_body``), so the API
    process does not encode it again."""

    status: int
    body: Any
    replayed: bool
    encoded: bytes | None = None


def encode_body(body: Any) -> bytes:
    """A JSON body exactly as the API's JSON responses encode it."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, indent=None,
                      separators=(",", ":")).encode("utf-8")


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
    return _stored(row, digest)


def _stored(row: Any, digest: str) -> Outcome:
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used for a different request; use a new key")
    return Outcome(row.status_code, row.response, True)


STORED = Query(lambda dialect: select(idempotency_keys).where(
    among(dialect, idempotency_keys.c.owner_id, "owners"),
    among(dialect, idempotency_keys.c.key, "keys")))
"""The key rows among ``owners`` x ``keys``: a batch's replays, read with its other reads."""


def stored_read(owner_ids: set[int], keys: set[str]) -> tuple[Query, dict[str, Any]]:
    """``STORED`` with its values, for ``read_together``."""
    return STORED, {"owners": sorted(owner_ids), "keys": sorted(keys)}


def stored_answers(rows: list[Any]) -> dict[tuple[int, str], Any]:
    """The rows of ``STORED`` by ``(owner, key)``."""
    return {(r.owner_id, r.key): r for r in rows}


def answer_of(row: Any, digest: str) -> Outcome:
    """A stored key row as the answer to a request with ``digest`` (or IdempotencyKeyReused)."""
    return _stored(row, digest)


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


def run_in(uow: UnitOfWork, owner_id: int, key: str, method: str, path: str, digest: str,
           work: Callable[[UnitOfWork], tuple[int, Any]]) -> Outcome:
    """``run_once``'s body in the caller's unit of work (the writer's batch)."""
    stored = _claim(uow, owner_id, key, method, path, digest)
    if stored is not None:
        return stored
    status, response = work(uow)
    uow.conn.execute(update(idempotency_keys).where(
        idempotency_keys.c.owner_id == owner_id, idempotency_keys.c.key == key,
    ).values(status_code=status, response=response))
    return Outcome(status, response, False)


def run_once(db: Database, owner_id: int, key: str | None, method: str, path: str, body: Any,
             work: Callable[[UnitOfWork], tuple[int, Any]], *, retry: bool = False) -> Outcome:
    """Run ``work`` once per (owner, key); later calls with the same request replay it.

    ``retry``: ``work`` only writes to the database, so after a serialization failure or a
    deadlock it is run again whole (``Database.transact``). Not for work that calls a payment
    provider before COMMIT: the order it makes gets a new id on each run, and the provider's
    idempotency key with it (``order-<id>``), so each run would start another payment there;
    such work fails with 503 instead and the client retries with its Idempotency-Key."""
    key = require_key(key)
    digest = request_hash(method, path, body)

    def once(uow: UnitOfWork) -> Outcome:
        return run_in(uow, owner_id, key, method, path, digest, work)

    if retry:
        return db.transact(once, what=f"{method} {path}")
    with db.unit() as uow:
        return once(uow)


class RecentAnswers:
    """Answers this process committed lately, by (owner, key): a client's retry is replayed
    from memory without the database. Committed answers never change, so nothing goes stale;
    a retry that reaches another process, or comes after ``size`` newer answers, is replayed
    from the database as before."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._items: OrderedDict[tuple[int, str], tuple[str, Outcome]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, owner_id: int, key: str, digest: str) -> Outcome | None:
        found = self._items.get((owner_id, key))
        if found is None:
            return None
        if found[0] != digest:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key")
        return replace(found[1], replayed=True)

    def put(self, owner_id: int, key: str, digest: str, outcome: Outcome) -> None:
        with self._lock:
            self._items[(owner_id, key)] = (digest, outcome)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def recent_answers(db: Database) -> RecentAnswers:
    """The database's ``RecentAnswers`` in this process."""
    found: RecentAnswers | None = db.caches.get("idempotency")
    if found is None:
        found = db.caches.setdefault("idempotency", RecentAnswers())
    return found
