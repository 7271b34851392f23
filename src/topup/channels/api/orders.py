"""/orders: submit a top-up or plan purchase (Idempotency-Key required), read one back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import current_user, database
from topup.channels.api.lines import visible_line
from topup.channels.api.schemas import OrderIn, OrderOut, PriceQuoteOut, QuoteOut
from topup.channels.api.views import order_out
from topup.db.uow import Database, UnitOfWork
from topup.orders import service as orders
from topup.orders.idempotency import Outcome, run_once
from topup.orders.model import OrderRequest
from topup.subscribers.auth import User
from topup.subscribers.staff import is_staff

router = APIRouter(prefix="/orders", tags=["orders"])

KEY_DOC = "Unique per intended order; a retry with the same key and body replays the result"


def respond(outcome: Outcome) -> Response:
    """The stored or fresh response, marked when it is a replay."""
    headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
    if outcome.encoded is not None:  # encoded once, by the writer
        return Response(outcome.encoded, status_code=outcome.status, headers=headers,
                        media_type="application/json")
    return JSONResponse(outcome.body, status_code=outcome.status, headers=headers)


@router.post("", status_code=201, response_model=OrderOut,
             responses={200: {"description": "Replay of an earlier identical request"}})
def create(body: OrderIn, request: Request,
           idempotency_key: str | None = Header(None, description=KEY_DOC),
           user: User = Depends(current_user), db: Database = Depends(database)) -> Any:
    """Top up a line's wallet, or buy / renew a plan (from the wallet or a provider), for the
    line or, with ``group_id``, for the group of lines it is in."""
    providers = request.app.state.payment_providers

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        line = visible_line(uow, user, body.line_id, write=True)
        req = OrderRequest(kind=body.kind, method=body.method, channel="api",
                           currency=body.currency, amount=body.amount, plan_id=body.plan_id,
                           confirm_duplicate=body.confirm_duplicate,
                           credit_currency=body.credit_currency, group_id=body.group_id,
                           code=body.code, points=body.points)
        order = orders.create_order(uow, user.id, line, req,
                                    provider=providers.get(body.method))
        return 201, jsonable_encoder(order_out(order))

    # paid from the wallet: database writes only; a provider's payment is not started twice
    return respond(run_once(db, user.id, idempotency_key, "POST", "/api/v1/orders",
                            _asked(body), work, retry=providers.get(body.method) is None))


def _asked(body: OrderIn) -> dict[str, Any]:
    """The body as the key's request digest covers it: without an unset ``group_id`` or
    ``code``, so the keys of orders made before groups and codes existed replay as they did."""
    return body.model_dump(exclude={k for k in ("group_id", "code") if getattr(body, k) is None})


@router.post("/quote", response_model=QuoteOut)
def make_quote(body: OrderIn, request: Request, user: User = Depends(current_user),
               db: Database = Depends(database)) -> QuoteOut:
    """What the order would cost, fee included, before the payer confirms (nothing moves);
    a method the order would refuse is refused here too."""
    provider = request.app.state.payment_providers.get(body.method)
    with db.unit(readonly=True) as uow:
        line = visible_line(uow, user, body.line_id)
        q = orders.quote(uow, line, OrderRequest(
            kind=body.kind, method=body.method, channel="api", currency=body.currency,
            amount=body.amount, plan_id=body.plan_id, credit_currency=body.credit_currency,
            group_id=body.group_id, code=body.code, points=body.points),
            provider=provider)
    return QuoteOut(amount=q.amount.amount, fee=q.fee.amount, total=q.total.amount,
                    currency=q.total.currency, fx_rate=q.fx_rate,
                    credit_currency=q.credit.currency if q.credit else None,
                    credit_amount=q.credit.amount if q.credit else None,
                    display={"amount": q.amount.text(), "fee": q.fee.text(),
                             "total": q.total.text()},
                    quote=PriceQuoteOut(**q.price.to_json()))


@router.get("/{order_id}", response_model=OrderOut)
def get(order_id: DbId, user: User = Depends(current_user),
        db: Database = Depends(database)) -> OrderOut:
    """One order and where it stands."""
    with db.unit(readonly=True) as uow:
        owner = None if is_staff(user.role) else user.id
        return order_out(orders.get_order(uow, order_id, owner=owner))
