"""/pos: the agent's point of sale — top up a line from the float, sell vouchers, read the
float and the daily statement. Callers are staff logins (role ``agent``); every call acts for
the caller's own agent, and a chain's staff may read its stores' statements."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Header, Query
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from topup.agents import agents as agent_svc
from topup.agents import kyc
from topup.agents.agents import Agent
from topup.agents.floats import float_balance
from topup.agents.statements import daily_statement, day_bounds
from topup.agents.topups import Seller, find_target, sales_of, sell_topup
from topup.agents.voucher_sales import sell_voucher
from topup.channels.api.agent_views import (
    AgentOut,
    KycIn,
    SaleOut,
    StatementOut,
    TopupSaleOut,
    VoucherSaleOut,
    agent_out,
    sale_fields,
    statement_out,
    topup_sale_out,
    voucher_sale_out,
)
from topup.channels.api.bounds import DbId
from topup.channels.api.deps import database, role
from topup.channels.api.orders import KEY_DOC, respond
from topup.channels.api.schemas import Amount
from topup.db.uow import Database, UnitOfWork
from topup.orders.idempotency import run_once
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User

router = APIRouter(prefix="/pos", tags=["agent POS"])
staff = role("agent")
DATE_DOC = "A UTC calendar day, YYYY-MM-DD (default: today)"


class PosTopupIn(KycIn):
    line: str = Field(..., description="The line's MSISDN (E.164) or ICCID")
    amount: Amount = Field(..., description="Minor units of the agent's currency")


class VoucherSellIn(BaseModel):
    serial: str = Field(..., min_length=1, max_length=40,
                        description="The serial printed on the card (not the PIN)")


class PosLineOut(BaseModel):
    line_id: int
    msisdn: str | None
    status: str
    currency: str
    home_country: str | None
    kyc_required: str | None = Field(None, description="The country whose rule asks for "
                                     "the buyer's ID, or null")


def caller_agent(uow: UnitOfWork, user: User) -> Agent:
    """The agent the caller is staff of (403 otherwise)."""
    return agent_svc.agent_of_staff(uow, user)


def fingerprint(db: Database, body: BaseModel) -> dict[str, Any]:
    """The request as the Idempotency-Key record compares it, with the ID number replaced by
    its keyed hash: an unkeyed digest of a short number could be reversed by trying all."""
    data = body.model_dump()
    if data.get("id_number"):
        data["id_number"] = kyc.id_hash(db.settings.secret_key, str(data.get("id_type")),
                                        str(data["id_number"]))
    return data


def kyc_given(body: KycIn) -> kyc.KycInput | None:
    if not (body.id_type or body.id_number):
        return None
    return kyc.KycInput(body.id_type or "", body.id_number or "")


@router.get("/me", response_model=AgentOut)
def me(user: User = Depends(staff), db: Database = Depends(database)) -> AgentOut:
    """The caller's agent and what its float holds."""
    def work(uow: UnitOfWork) -> AgentOut:  # may open the float account on first use
        agent = caller_agent(uow, user)
        return agent_out(agent, float_balance(uow, agent))

    return db.transact(work, what="agent float account")


@router.get("/lines/{identifier}", response_model=PosLineOut)
def look_up(identifier: str, user: User = Depends(staff), db: Database = Depends(database)
            ) -> PosLineOut:
    """Check a line before selling: its state, currency and whether the buyer's ID is needed."""
    with db.unit(readonly=True) as uow:
        agent = caller_agent(uow, user)
        line = line_svc.find_line(uow, find_target(identifier))
        return PosLineOut(line_id=line.id, msisdn=line.msisdn, status=line.status,
                          currency=line.currency, home_country=line.home_country,
                          kyc_required=kyc.required_by(uow, agent, line))


@router.post("/topups", status_code=201, response_model=TopupSaleOut,
             responses={200: {"description": "Replay of an earlier identical request"}})
def topup(body: PosTopupIn, idempotency_key: str | None = Header(None, description=KEY_DOC),
          user: User = Depends(staff), db: Database = Depends(database)) -> Any:
    """Top up a line by MSISDN or ICCID, paid from the agent's float (commission credited)."""

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        agent = caller_agent(uow, user)
        done = sell_topup(uow, Seller(agent.id, user.id), body.line, body.amount,
                          kyc_given=kyc_given(body))
        return 201, jsonable_encoder(topup_sale_out(done))

    return respond(run_once(db, user.id, idempotency_key, "POST", "/api/v1/pos/topups",
                            fingerprint(db, body), work, retry=True))


@router.post("/vouchers", status_code=201, response_model=VoucherSaleOut,
             responses={200: {"description": "Replay of an earlier identical request"}})
def sell_card(body: VoucherSellIn,
              idempotency_key: str | None = Header(None, description=KEY_DOC),
              user: User = Depends(staff), db: Database = Depends(database)) -> Any:
    """Sell a scratch card: it becomes redeemable, its face value leaves the float, and the
    agent earns its voucher commission."""

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        agent = caller_agent(uow, user)
        done = sell_voucher(uow, Seller(agent.id, user.id), body.serial)
        return 201, jsonable_encoder(voucher_sale_out(done))

    return respond(run_once(db, user.id, idempotency_key, "POST", "/api/v1/pos/vouchers",
                            body.model_dump(), work, retry=True))


@router.get("/statement", response_model=StatementOut)
def statement(day: date | None = Query(None, alias="date", description=DATE_DOC),
              agent_id: DbId | None = Query(None, description="A store of the caller's chain"),
              user: User = Depends(staff), db: Database = Depends(database)) -> StatementOut:
    """The float's daily statement: opening, fundings, top-ups, vouchers, commission, closing."""
    def work(uow: UnitOfWork) -> StatementOut:  # may open the float account on first use
        agent = agent_svc.visible_agent(uow, caller_agent(uow, user), agent_id)
        return statement_out(daily_statement(uow, agent.id, day or uow.now.date()))

    return db.transact(work, what="agent statement")


@router.get("/sales", response_model=list[SaleOut])
def sales(day: date | None = Query(None, alias="date", description=DATE_DOC),
          agent_id: DbId | None = Query(None, description="A store of the caller's chain"),
          user: User = Depends(staff), db: Database = Depends(database)) -> list[SaleOut]:
    """The day's sales, oldest first."""
    with db.unit(readonly=True) as uow:
        agent = agent_svc.visible_agent(uow, caller_agent(uow, user), agent_id)
        start, end = day_bounds(day or uow.now.date())
        return [SaleOut(**sale_fields(s)) for s in  # type: ignore[arg-type]
                sales_of(uow, agent.id, start=start, end=end)]
