"""/store: plans sold as a new eSIM, buying one (logged in or as a guest), reading the
purchase back with its activation code once paid; and the SM-DP+'s ES2+ callback."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import current_user, database, optional_user
from topup.channels.api.orders import KEY_DOC, respond
from topup.channels.api.schemas import OrderOut
from topup.channels.api.views import order_out
from topup.db.uow import Database, UnitOfWork
from topup.errors import InvalidInput, NotFound
from topup.esim import progress, store
from topup.esim.errors import CallbackRefused
from topup.orders.idempotency import Outcome, run_once
from topup.subscribers import auth
from topup.subscribers.auth import User
from topup.subscribers.staff import is_staff

router = APIRouter(prefix="/store", tags=["store"])
smdp_router = APIRouter(prefix="/esim/smdp/gsma/rsp2/es2plus", tags=["store"])


class OfferOut(BaseModel):
    plan_id: int
    code: str
    name: str
    zone: str
    countries: list[str]
    data_bytes: int
    voice_seconds: int
    sms_count: int
    validity_days: int
    price: int = Field(..., description="Minor units of `currency`")
    currency: str
    display: str
    in_stock: bool


class StoreOrderIn(BaseModel):
    plan_id: DbId
    currency: str = Field(..., min_length=3, max_length=3)
    method: str = Field(..., max_length=32, description="A configured payment provider")
    email: str | None = Field(None, max_length=254,
                              description="A guest's e-mail address (becomes an account)")
    language: str = Field("en", pattern="^(en|zh-CN)$")


class EsimOut(BaseModel):
    iccid: str
    state: str = Field(..., description="reserved, assigned, installed, failed, available "
                                        "(given back: the order was not paid)")
    reserved_until: datetime | None
    installed_at: datetime | None
    activation_code: str | None = Field(None, description="LPA:1$…, once the order is paid")
    ios_install_url: str | None = None
    confirmation_code_required: bool


class PurchaseOut(BaseModel):
    order: OrderOut
    esim: EsimOut
    account_created: bool = False
    token: str | None = Field(None, description="A guest's new account: a bearer token")


def _esim_out(purchase: store.Purchase) -> EsimOut:
    p, paid = purchase.profile, purchase.order.state == "fulfilled"
    sold = paid and p.state in ("assigned", "installed", "failed")
    code = p.activation_code if sold else None
    return EsimOut(iccid=p.iccid, state=p.state, reserved_until=p.reserved_until,
                   installed_at=p.installed_at, activation_code=code,
                   ios_install_url=store.ios_link(code) if code else None,
                   confirmation_code_required=p.confirmation)


@router.get("/offers", response_model=list[OfferOut])
def offers(request: Request, country: str = Query(..., min_length=2, max_length=2),
           currency: str = Query(..., min_length=3, max_length=3),
           language: str = Query("en", pattern="^(en|zh-CN)$"),
           db: Database = Depends(database)) -> list[OfferOut]:
    """Plans for a destination that can be bought as a new eSIM, priced in ``currency``."""
    with db.unit(readonly=True) as uow:
        found = store.offers(uow, country.upper(), currency.upper(),
                             request.app.state.esim_supplier)
    return [OfferOut(
        plan_id=o.plan.id, code=o.plan.code, name=o.plan.name(language), zone=o.plan.zone_code,
        countries=list(o.plan.countries), data_bytes=o.plan.data_bytes,
        voice_seconds=o.plan.voice_seconds, sms_count=o.plan.sms_count,
        validity_days=o.plan.validity_days, price=o.price.amount, currency=o.price.currency,
        display=o.price.text(), in_stock=o.in_stock) for o in found]


@router.post("/orders", status_code=201, response_model=PurchaseOut,
             responses={200: {"description": "Replay of an earlier identical request"}})
def buy(body: StoreOrderIn, request: Request,
        idempotency_key: str | None = Header(None, description=KEY_DOC),
        user: User | None = Depends(optional_user), db: Database = Depends(database)) -> Any:
    """Buy a new eSIM with a plan: logged in (bearer token, Idempotency-Key required) or as a
    guest giving an e-mail address, which becomes an account (its token is in the answer).
    The order then waits for its payment like any other (``order.next_action``)."""
    provider = request.app.state.payment_providers.get(body.method)
    if provider is None:
        raise InvalidInput(f"{body.method!r} is not a payment method here", field="method")
    currency = body.currency.upper()

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        buyer, new = store.buyer_for(uow, user.id if user else None, body.email,
                                     body.language, currency)
        made = store.buy(uow, buyer=buyer, plan_id=body.plan_id, currency=currency,
                         provider=provider, new_account=new,
                         supplier=request.app.state.esim_supplier)
        issued = auth.issue_token(uow, auth.get_user(uow, buyer)) if new else None
        return 201, jsonable_encoder(PurchaseOut(
            order=order_out(made.order), esim=_esim_out(made), account_created=new,
            token=issued))

    if user is not None:
        return respond(run_once(db, user.id, idempotency_key, "POST", "/api/v1/store/orders",
                                body.model_dump(), work))
    with db.unit() as uow:  # a guest has no account to key a replay by (yet)
        status, answer = work(uow)
    return respond(Outcome(status, answer, False))


@router.get("/orders/{order_id}", response_model=PurchaseOut)
def get(order_id: DbId, user: User = Depends(current_user),
        db: Database = Depends(database)) -> PurchaseOut:
    """A store purchase: the order, and its eSIM (the activation code once paid)."""
    with db.unit(readonly=True) as uow:
        found = store.purchase_of(uow, order_id,
                                  owner=None if is_staff(user.role) else user.id)
        if found is None:
            raise NotFound(f"order {order_id} is not a store purchase")
        return PurchaseOut(order=order_out(found.order), esim=_esim_out(found), token=None)


@smdp_router.post("/handleDownloadProgressInfo", status_code=204)
async def download_progress(request: Request, db: Database = Depends(database)) -> Response:
    """ES2+ HandleDownloadProgressInfo from the SM-DP+ (``Authorization: Bearer`` with
    ``TOPUP_SMDP_CALLBACK_TOKEN``): kept once, moves the profile; 204 No Content."""
    expected = db.settings.smdp_callback_token
    given = request.headers.get("authorization", "")
    if not expected or not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
        raise CallbackRefused("send Authorization: Bearer <TOPUP_SMDP_CALLBACK_TOKEN>")
    try:
        body = await request.json()
    except ValueError as exc:
        raise InvalidInput("the body is not JSON") from exc
    report = progress.read_report(body)

    await run_in_threadpool(db.transact, lambda uow: progress.apply_report(uow, report),
                            what="eSIM download progress")
    return Response(status_code=204)

