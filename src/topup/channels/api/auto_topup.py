"""``/api/v1/lines/{id}/auto-topup``: a line's automatic top-up from a saved card, read, set
and switched off by the line's own customer only (anyone else, staff included, gets 404)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, StrictInt

from topup.channels.api.bounds import INT32_MAX, DbId
from topup.channels.api.deps import current_user, database
from topup.channels.api.schemas import Amount
from topup.db.uow import Database, UnitOfWork
from topup.money import MAX_AMOUNT
from topup.orders import autotopup
from topup.orders.autotopup import AutoTopup, Rule
from topup.orders.errors import AutoTopupNotFound
from topup.payments.saved.service import list_methods
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.subscribers.lines import Line

router = APIRouter(prefix="/lines", tags=["lines"])

Threshold = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]


class AutoTopupIn(BaseModel):
    """Below ``threshold`` of available balance, top up ``amount`` (minor units of the line's
    currency) charged to saved payment method ``payment_method_id``; at most ``max_per_day``
    top-ups and ``max_amount_per_day`` in 24 hours (left out: the operator's defaults)."""

    threshold: Threshold
    amount: Amount
    payment_method_id: DbId
    max_per_day: Annotated[StrictInt, Field(ge=1, le=INT32_MAX)] | None = None
    max_amount_per_day: Amount | None = None
    currency: str | None = Field(None, description="ISO 4217; must be the line's currency",
                                 min_length=3, max_length=3)


class CardOut(BaseModel):
    """The saved method charged: brand and last 4 only."""

    id: int
    provider: str
    brand: str | None
    last4: str | None


class AutoTopupOut(BaseModel):
    """A line's auto top-up. ``armed``: it fires when the balance falls below the threshold
    (false after it fired, until the balance is back at or above it). ``last_outcome``:
    charging, pending, paid, declined, refused, capped or unavailable."""

    line_id: int
    enabled: bool
    armed: bool
    threshold: int
    amount: int
    currency: str
    payment_method: CardOut | None
    max_per_day: int
    max_amount_per_day: int | None
    last_outcome: str | None
    last_order_id: int | None
    fired_at: datetime | None
    held_until: datetime | None
    updated_at: datetime


def _own_line(uow: UnitOfWork, user: User, line_id: int) -> Line:
    return line_svc.get_line(uow, line_id, owner=user.id)


def _out(uow: UnitOfWork, found: AutoTopup) -> AutoTopupOut:
    cards = {m.id: m for m in list_methods(uow, found.customer_id)}
    card = cards.get(found.method_id)
    return AutoTopupOut(
        line_id=found.line_id, enabled=found.enabled, armed=found.armed,
        threshold=found.threshold, amount=found.amount, currency=found.currency,
        payment_method=CardOut(id=card.id, provider=card.provider, brand=card.brand,
                               last4=card.last4) if card else None,
        max_per_day=found.max_per_day, max_amount_per_day=found.max_amount_per_day,
        last_outcome=found.last_outcome, last_order_id=found.order_id,
        fired_at=found.fired_at, held_until=found.held_until, updated_at=found.updated_at)


@router.get("/{line_id}/auto-topup", response_model=AutoTopupOut)
def read(line_id: DbId, user: User = Depends(current_user), db: Database = Depends(database)
         ) -> AutoTopupOut:
    """The line's auto top-up, switched on or off; 404 when it never had one."""
    with db.unit(readonly=True) as uow:
        line = _own_line(uow, user, line_id)
        return _out(uow, autotopup.get_auto_topup(uow, line.id))


@router.put("/{line_id}/auto-topup", response_model=AutoTopupOut)
def put(line_id: DbId, body: AutoTopupIn, request: Request,
        user: User = Depends(current_user), db: Database = Depends(database)) -> AutoTopupOut:
    """Set the line's auto top-up and switch it on. The amount must be within the line's
    top-up limits, the card one of the caller's saved methods, the caps within the
    operator's (422 naming the ``field`` otherwise)."""
    usable = set(getattr(request.app.state, "saved_methods", {})) & set(
        request.app.state.payment_providers)
    rule = Rule(threshold=body.threshold, amount=body.amount,
                method_id=body.payment_method_id, max_per_day=body.max_per_day,
                max_amount_per_day=body.max_amount_per_day, currency=body.currency)
    def work(uow: UnitOfWork) -> AutoTopupOut:
        line = _own_line(uow, user, line_id)
        return _out(uow, autotopup.save_auto_topup(uow, line, rule, usable_providers=usable))

    return db.transact(work, what="auto top-up")


@router.delete("/{line_id}/auto-topup", status_code=204)
def switch_off(line_id: DbId, user: User = Depends(current_user),
               db: Database = Depends(database)) -> Response:
    """Switch the line's auto top-up off (kept, to be set again); 404 when it never had one."""
    def work(uow: UnitOfWork) -> None:
        line = _own_line(uow, user, line_id)
        if autotopup.switch_off(uow, line.id) is None:
            raise AutoTopupNotFound("no auto top-up is set for this line")

    db.transact(work, what="auto top-up")
    return Response(status_code=204)
