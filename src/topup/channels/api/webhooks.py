"""/webhooks/{provider}: provider notifications, verified over the raw body."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from topup.channels.api.deps import database
from topup.db.uow import Database
from topup.errors import NotFound
from topup.payments import webhooks

router = APIRouter(prefix="/webhooks", tags=["payments"])


@router.post("/{provider}", include_in_schema=True)
async def notify(provider: str, request: Request, db: Database = Depends(database)
                 ) -> Response:
    """Receive a payment provider's notification (signature checked before anything else)."""
    found = request.app.state.payment_providers.get(provider)
    if found is None:
        raise NotFound(f"no payment provider {provider!r}")
    body = await request.body()
    from starlette.concurrency import run_in_threadpool

    ack = await run_in_threadpool(webhooks.receive, db, found, dict(request.headers), body)
    return Response(ack.body, status_code=ack.status_code, media_type=ack.media_type)
