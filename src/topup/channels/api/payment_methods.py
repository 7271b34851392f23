"""``/api/v1/payment-methods``: save a card for auto-renew, list, remove — own methods only.

The savers come from ``app.state.saved_methods`` (provider name → ``SavesMethods``), set up
next to ``app.state.payment_providers``. ``POST /orders/{id}/pay-with-saved`` pays an order
awaiting payment with one of the caller's saved methods.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import current_user, database
from topup.channels.api.schemas import OrderOut
from topup.channels.api.views import order_out
from topup.db.uow import Database
from topup.orders.errors import PaymentMethodUnavailable
from topup.orders.service import get_order
from topup.payments.saved import service
from topup.payments.saved.interfaces import SavesMethods
from topup.payments.saved.service import MethodNotFound, StoredMethod
from topup.subscribers.auth import User

router = APIRouter(prefix="/payment-methods", tags=["payment-methods"])


class SetupIn(BaseModel):
    """Which provider should keep the card."""

    provider: str = Field(min_length=1, max_length=32)


class SetupOut(BaseModel):
    """What the payer's browser needs to confirm the setup with the provider."""

    provider: str
    setup_ref: str
    client_secret: str
    publishable_key: str | None = None


class SaveIn(BaseModel):
    """A setup the payer's browser has completed."""

    provider: str = Field(min_length=1, max_length=32)
    setup_ref: str = Field(min_length=1, max_length=255)


class MethodOut(BaseModel):
    """A saved method: brand and last 4, never more of the card."""

    id: int
    provider: str
    brand: str | None
    last4: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: StoredMethod) -> MethodOut:
        return cls(id=m.id, provider=m.provider, brand=m.brand, last4=m.last4,
                   created_at=m.created_at)


def saver_for(request: Request, provider: str) -> SavesMethods:
    """The configured saver of ``provider``; 404 when it cannot save methods."""
    savers: dict[str, SavesMethods] = getattr(request.app.state, "saved_methods", {})
    found = savers.get(provider)
    if found is None:
        raise MethodNotFound(f"payment provider {provider!r} cannot save payment methods")
    return found


@router.post("/setup", response_model=SetupOut)
def setup(body: SetupIn, request: Request, user: User = Depends(current_user),
          db: Database = Depends(database)) -> SetupOut:
    """Begin saving a card: the client secret goes to the provider's own card form."""
    started = service.begin_setup(db, saver_for(request, body.provider), user.id)
    return SetupOut(provider=body.provider, setup_ref=started.setup_ref,
                    client_secret=started.client_secret,
                    publishable_key=started.extra.get("publishable_key"))


@router.post("", status_code=201, response_model=MethodOut)
def save(body: SaveIn, request: Request, user: User = Depends(current_user),
         db: Database = Depends(database)) -> MethodOut:
    """Record the card a completed setup saved."""
    saved = service.save_method(db, body.provider, saver_for(request, body.provider),
                                user.id, body.setup_ref)
    return MethodOut.of(saved)


@router.get("", response_model=list[MethodOut])
def listing(user: User = Depends(current_user), db: Database = Depends(database)
            ) -> list[MethodOut]:
    """The caller's live saved methods."""
    with db.unit(readonly=True) as uow:
        return [MethodOut.of(m) for m in service.list_methods(uow, user.id)]


@router.delete("/{method_id}", status_code=204)
def remove(method_id: DbId, request: Request, user: User = Depends(current_user),
           db: Database = Depends(database)) -> Response:
    """Forget a saved method, at the provider too; another user's id is simply not found."""
    with db.unit(readonly=True) as uow:
        mine = {m.id: m for m in service.list_methods(uow, user.id)}
    if method_id not in mine:
        raise MethodNotFound("no such saved payment method")
    service.remove_method(db, saver_for(request, mine[method_id].provider), user.id, method_id)
    return Response(status_code=204)


class PayWithSavedIn(BaseModel):
    """Which of the caller's saved methods pays the order."""

    method_id: DbId


pay_router = APIRouter(tags=["payment-methods"])


@pay_router.post("/orders/{order_id}/pay-with-saved", response_model=OrderOut)
def pay_with_saved(order_id: DbId, body: PayWithSavedIn, request: Request,
                   user: User = Depends(current_user), db: Database = Depends(database)
                   ) -> OrderOut:
    """Pay one's own order that awaits a card payment with a saved card (off-session)."""
    with db.unit(readonly=True) as uow:
        order = get_order(uow, order_id, owner=user.id)
    name = (order.payment_ref or "").split(":", 1)[0]
    provider = request.app.state.payment_providers.get(name)
    if order.state != "awaiting_payment" or provider is None:
        raise PaymentMethodUnavailable("this order is not waiting for a card payment")
    done = service.pay_with_saved(db, saver_for(request, name), provider, order, body.method_id)
    return order_out(done)
