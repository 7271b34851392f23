"""/usage: the network reports usage; each record is charged exactly once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from topup.channels.api.deps import database, role
from topup.channels.api.orders import respond
from topup.channels.api.schemas import UsageIn, UsageOut
from topup.channels.api.views import usage_out
from topup.charging.batch import Usage
from topup.db.uow import Database
from topup.orders.idempotency import Outcome
from topup.subscribers.auth import User

router = APIRouter(tags=["usage"])
ROLES = ("network", "admin")


@router.post("/usage", status_code=201, response_model=UsageOut,
             responses={200: {"description": "The record was reported before: same result"}})
async def usage(body: UsageIn, user: User = Depends(role(*ROLES)),
                db: Database = Depends(database)) -> Any:
    """Draw usage from the line's buckets (soonest expiry first, matching zone), then from its
    wallet at the out-of-bundle rate, never below zero. ``record_id`` is the idempotency key.
    Committed by the database's writer with whatever other records are waiting."""
    return respond(await record(db, user, body))


async def record(db: Database, user: User, body: UsageIn) -> Outcome:
    """The usage route, for ``usage`` and for the fast lane (channels/api/fastlane.py): 201
    with the charged record, 200 with the same body for a record reported before; raises the
    TopupError that refused it."""
    rec, created = await db.writer.run(Usage(body.record_id, body.line, body.unit,
                                             body.quantity, body.country, body.occurred_at))
    # what jsonable_encoder makes, directly; no replay header, as this route never sent one
    return Outcome(201 if created else 200, usage_out(rec).model_dump(mode="json"), False)


async def lane(db: Database, user: User, _: None, body: UsageIn, __: str | None) -> Outcome:
    """``record`` as the fast lane calls its handlers (a path without an id, no key)."""
    return await record(db, user, body)
