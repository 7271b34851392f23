"""Vouchers for travellers: redeem a scratch card onto one's line, and the public serial check.

A redemption needs no Idempotency-Key: the card itself is spent exactly once, and a retry of
a request that succeeded is answered ``voucher_used`` (the line's orders show the first).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import client_ip, current_user, database
from topup.channels.api.schemas import MoneyOut
from topup.db.uow import Database
from topup.money import Money
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
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


@router.post("/lines/{line_id}/vouchers/redeem", response_model=RedemptionOut, status_code=201)
def redeem(line_id: DbId, body: RedeemIn, request: Request,
           user: User = Depends(current_user), db: Database = Depends(database)
           ) -> RedemptionOut:
    """Redeem a voucher onto one of the caller's lines: a money voucher tops up the wallet in
    its currency, a plan voucher buys its plan. Wrong PINs are limited per line, account and
    address (429 ``voucher_locked`` with Retry-After)."""
    with db.unit(readonly=True) as uow:
        line_svc.get_line(uow, line_id, owner=user.id)
    done = vouchers.redeem(db, body.pin, line_id, vouchers.RedeemContext(
        channel="api", ip=client_ip(request), session=f"user:{user.id}", actor_id=user.id))
    return RedemptionOut(serial=done.serial, plan_id=done.plan_id, order_id=done.order_id,
                         credited=money_out(done.credited) if done.credited else None)


@router.get("/vouchers/{serial}", response_model=SerialCheckOut)
def check(serial: str, request: Request, db: Database = Depends(database)) -> SerialCheckOut:
    """Anyone may check a card's serial before buying it from a stranger: its state and face
    value only. Limited per address."""
    found = vouchers.public_check(db, serial, client_ip(request))
    return SerialCheckOut(serial=found.serial, state=found.state, face=money_out(found.face),
                          plan_name=found.plan_name_en, plan_name_zh=found.plan_name_zh)
