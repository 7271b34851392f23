"""Vouchers for travellers: redeem a scratch card onto one's line, and the public serial check.

A redemption needs an Idempotency-Key, as orders do: the answer is stored in the transaction
that spends the card, so a retry (a lost response, a double tap) gets the first answer again
instead of ``voucher_used``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import client_ip, current_user, database
from topup.channels.api.orders import respond
from topup.channels.api.schemas import MoneyOut
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.money import Money
from topup.orders.idempotency import record, replay, require_key
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.vouchers import pins
from topup.vouchers import service as vouchers

router = APIRouter(tags=["vouchers"])


class RedeemIn(BaseModel):
    pin: str = Field(..., max_length=64,
                     description="The PIN under the scratch panel; spaces and dashes are ignored")


class RedemptionOut(BaseModel):
    serial: str
    credited: MoneyOut | None = Field(None, description="What a money voucher put in the wallet")
    plan_id: int | None = Field(None, description="The plan a plan voucher bought")
    order_id: int


class SerialCheckOut(BaseModel):
    serial: str
    state: str = Field(..., description="generated, distributed (not sold yet), active, "
                                        "reserved, used, expired or blocked")
    face: MoneyOut
    plan_name: str | None = None
    plan_name_zh: str | None = None


def money_out(money: Money) -> MoneyOut:
    return MoneyOut(amount=money.amount, currency=money.currency, display=money.text())


REDEEM_KEY_DOC = ("Unique per card you mean to redeem; a retry with the same key and PIN "
                  "replays the first answer")


@router.post("/lines/{line_id}/vouchers/redeem", response_model=RedemptionOut, status_code=201,
             responses={200: {"description": "Replay of an earlier identical request"}})
def redeem(line_id: DbId, body: RedeemIn, request: Request,
           idempotency_key: str | None = Header(None, description=REDEEM_KEY_DOC),
           user: User = Depends(current_user), db: Database = Depends(database)) -> Any:
    """Redeem a voucher onto one of the caller's lines: a money voucher tops up the wallet in
    its currency, a plan voucher buys its plan. Wrong PINs are limited per line, account and
    address (429 ``voucher_locked`` with Retry-After)."""
    key = require_key(idempotency_key)
    path = f"/api/v1/lines/{line_id}/vouchers/redeem"
    asked = {"pin": _card(db, body.pin)}
    stored = replay(db, user.id, key, "POST", path, asked)
    if stored is not None:
        return respond(stored)
    with db.unit(readonly=True) as uow:
        line_svc.get_line(uow, line_id, owner=user.id)

    def keep(uow: UnitOfWork, done: vouchers.Redemption) -> None:
        record(uow, user.id, key, "POST", path, asked, 201, jsonable_encoder(_out(done)))

    try:
        done = vouchers.redeem(db, body.pin, line_id, vouchers.RedeemContext(
            channel="api", ip=client_ip(request), session=f"user:{user.id}",
            actor_id=user.id), then=keep)
    except TopupError:
        stored = replay(db, user.id, key, "POST", path, asked)  # a twin request won the race
        if stored is None:
            raise
        return respond(stored)
    return JSONResponse(jsonable_encoder(_out(done)), status_code=201)


def _card(db: Database, pin: str) -> str:
    """The stored request names the card by its keyed hash, never by its PIN (a typo is
    refused later by the redemption itself, after its limits)."""
    try:
        return pins.pin_hash(db.settings.secret_key, pins.normalise(pin))
    except TopupError:
        return pins.pin_hash(db.settings.secret_key, pin)


def _out(done: vouchers.Redemption) -> RedemptionOut:
    return RedemptionOut(serial=done.serial, plan_id=done.plan_id, order_id=done.order_id,
                         credited=money_out(done.credited) if done.credited else None)


@router.get("/vouchers/{serial}", response_model=SerialCheckOut)
def check(serial: str, request: Request, db: Database = Depends(database)) -> SerialCheckOut:
    """Anyone may check a card's serial before buying it from a stranger: its state and face
    value only. Limited per address."""
    found = vouchers.public_check(db, serial, client_ip(request))
    return SerialCheckOut(serial=found.serial, state=found.state, face=money_out(found.face),
                          plan_name=found.plan_name_en, plan_name_zh=found.plan_name_zh)
