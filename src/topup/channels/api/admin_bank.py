"""/admin/bank: finance imports bank statements and works the bank transfer review queue."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import allowed, database
from topup.db.uow import Database
from topup.orders.errors import PaymentMethodUnavailable
from topup.payments.providers.bank import (
    BankProvider,
    import_statement,
    resolve_review,
    review_queue,
)
from topup.payments.providers.bank.errors import StatementRejected
from topup.payments.providers.bank.statement import MAX_BYTES
from topup.subscribers.auth import User

router = APIRouter(prefix="/admin/bank", tags=["admin", "payments"])
bank_review = allowed("bank.review")


class ResolveIn(BaseModel):
    action: Literal["credit_order", "credit_wallet", "dismiss"]
    note: str = Field(..., min_length=3, max_length=500, description="What finance did, and why")
    order_id: DbId | None = Field(None, description="credit_order: the order to settle, when "
                                                   "the item names none (or the wrong one)")
    line: str | None = Field(None, max_length=20, description="credit_wallet: ICCID or MSISDN "
                             "of the line to top up, when not the line of the item's order")


def _bank(request: Request) -> BankProvider:
    found = request.app.state.payment_providers.get("bank")
    if not isinstance(found, BankProvider):
        raise PaymentMethodUnavailable("bank transfer is not configured (TOPUP_PAYMENT_PROVIDERS)")
    return found


@router.post("/statements")
async def upload_statement(request: Request,
                           format: Literal["camt053", "csv"] = Query(
                               ..., description="camt053 (ISO 20022 XML) or csv"),
                           user: User = Depends(bank_review), db: Database = Depends(database)
                           ) -> dict[str, Any]:
    """Import a bank statement (the raw file as the request body); re-imports add nothing."""
    provider = _bank(request)
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise StatementRejected(f"the statement is larger than {MAX_BYTES // 2**20} MiB")
    from starlette.concurrency import run_in_threadpool

    result = await run_in_threadpool(import_statement, db, provider, body, format,
                                     actor_id=user.id)
    return dict(jsonable_encoder(result))


@router.get("/review")
def list_review(state: Literal["open", "credited", "dismissed"] = "open",
                _: User = Depends(bank_review), db: Database = Depends(database)
                ) -> list[dict[str, Any]]:
    """Bank payments that were not credited automatically (open ones by default)."""
    return [dict(jsonable_encoder(i)) for i in review_queue(db, state=state)]


@router.post("/review/{item_id}/resolve")
def resolve(item_id: DbId, body: ResolveIn, user: User = Depends(bank_review),
            db: Database = Depends(database)) -> dict[str, Any]:
    """Credit the payment to an order awaiting exactly that amount, top up a line's wallet
    with it, or dismiss it with a note."""
    item = resolve_review(db, item_id, body.action, user.id, body.note, order_id=body.order_id,
                          line=body.line)
    return dict(jsonable_encoder(item))
