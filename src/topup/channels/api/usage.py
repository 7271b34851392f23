"""/usage: the network reports usage; each record is charged exactly once."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from topup.channels.api.deps import database, role
from topup.channels.api.schemas import UsageIn, UsageOut
from topup.channels.api.views import usage_out
from topup.charging.service import record_usage
from topup.db.uow import Database
from topup.subscribers.auth import User
from topup.subscribers.lines import find_line

router = APIRouter(tags=["usage"])


@router.post("/usage", status_code=201, response_model=UsageOut,
             responses={200: {"description": "The record was reported before: same result"}})
def usage(body: UsageIn, user: User = Depends(role("network", "admin")),
          db: Database = Depends(database)) -> Any:
    """Draw usage from the line's buckets (soonest expiry first, matching zone), then from its
    wallet at the out-of-bundle rate, never below zero. ``record_id`` is the idempotency key."""
    with db.unit() as uow:
        line = find_line(uow, body.line)
        rec, created = record_usage(uow, body.record_id, line, body.unit, body.quantity,
                                    body.country, body.occurred_at)
    return JSONResponse(jsonable_encoder(usage_out(rec)), status_code=201 if created else 200)
