"""/admin: retail agents — commission tiers, agents, staff, float funding, terminals, reports."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from topup.agents import agents as agent_svc
from topup.agents import kyc
from topup.agents import terminals as terminal_svc
from topup.agents.agents import AgentSpec
from topup.agents.floats import float_balance, fund_float
from topup.agents.statements import daily_statement, terminal_report
from topup.agents.terminals import Credentials
from topup.channels.api.agent_views import (
    AgentOut,
    KycRecordOut,
    StatementOut,
    TerminalCredentialsOut,
    TerminalOut,
    TerminalReportOut,
    TierOut,
    agent_out,
    kyc_record_out,
    money_out,
    statement_out,
    terminal_out,
    terminal_report_out,
    tier_out,
)
from topup.channels.api.bounds import DbId
from topup.channels.api.deps import allowed, database
from topup.channels.api.orders import KEY_DOC, respond
from topup.channels.api.schemas import Amount, MoneyOut, UserOut
from topup.db.uow import Database, UnitOfWork
from topup.orders.idempotency import run_once
from topup.subscribers.auth import User

router = APIRouter(prefix="/admin", tags=["admin: agents"])
agents_fund = allowed("agents.fund")
agents_read = allowed("agents.read")
agents_write = allowed("agents.write")
DATE_DOC = "A UTC calendar day, YYYY-MM-DD (default: today)"


class TierIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=100)
    topup_bp: int = Field(..., ge=0, le=10000, description="Basis points (150 = 1.5 %)")
    voucher_bp: int = Field(..., ge=0, le=10000)


class AgentIn(BaseModel):
    kind: Literal["chain", "store", "dealer", "post_office", "kiosk_operator"]
    name: str = Field(..., min_length=1, max_length=200)
    tier: str
    country: str = Field(..., description="ISO 3166 alpha-2")
    currency: str = Field(..., description="ISO 4217: the float's currency")
    parent_id: DbId | None = Field(None, description="The chain a store belongs to")


class ReasonIn(BaseModel):
    reason: str = Field(..., min_length=3, max_length=500)


class StaffLoginIn(BaseModel):
    email: str | None = None
    phone: str | None = Field(None, description="E.164")
    password: str = Field(..., min_length=8, max_length=256)


class FundIn(BaseModel):
    amount: Amount = Field(..., description="Minor units of the agent's currency")
    reference: str = Field(..., min_length=1, max_length=100,
                           description="The agent's payment reference (e.g. the bank "
                                       "transfer's); one reference funds once")
    reason: str = Field(..., min_length=3, max_length=500)


class FundOut(BaseModel):
    agent_id: int
    transfer_id: int
    amount: MoneyOut
    float_balance: MoneyOut
    replayed: bool = Field(..., description="The reference had funded before: nothing moved")


class TerminalIn(BaseModel):
    label: str = Field(..., min_length=1, max_length=100)


class AgentDetailOut(AgentOut):
    staff_user_ids: list[int]
    members: list[int] = Field(..., description="Ids of a chain's stores")


@router.put("/agent-tiers/{code}", response_model=TierOut)
def put_tier(code: str, body: TierIn, user: User = Depends(agents_write),
             db: Database = Depends(database)) -> TierOut:
    """Create or change a commission tier (applies to sales from now on)."""
    return tier_out(db.transact(lambda uow: agent_svc.set_tier(
        uow, code, body.name, body.topup_bp, body.voucher_bp, actor_id=user.id),
        what="agent tier"))


@router.get("/agent-tiers", response_model=list[TierOut])
def get_tiers(_: User = Depends(agents_read), db: Database = Depends(database)) -> list[TierOut]:
    """Every commission tier."""
    with db.unit(readonly=True) as uow:
        return [tier_out(t) for t in agent_svc.list_tiers(uow)]


@router.post("/agents", status_code=201, response_model=AgentOut)
def create_agent(body: AgentIn, user: User = Depends(agents_write), db: Database = Depends(database)
                 ) -> AgentOut:
    """Add a chain, store, dealer, post-office branch or kiosk operator."""
    return agent_out(db.transact(lambda uow: agent_svc.create_agent(
        uow, AgentSpec(**body.model_dump()), actor_id=user.id), what="agent"))


@router.get("/agents", response_model=list[AgentOut])
def list_agents(parent_id: DbId | None = Query(None, description="Only this chain's stores"),
                _: User = Depends(agents_read), db: Database = Depends(database)) -> list[AgentOut]:
    """Every agent (or one chain's stores)."""
    with db.unit(readonly=True) as uow:
        return [agent_out(a) for a in agent_svc.list_agents(uow, parent_id=parent_id)]


@router.get("/agents/{agent_id}", response_model=AgentDetailOut)
def get_agent(agent_id: DbId, _: User = Depends(agents_read), db: Database = Depends(database)
              ) -> AgentDetailOut:
    """One agent with its float, staff and members."""
    def work(uow: UnitOfWork) -> AgentDetailOut:  # the float's account opens on first sight
        agent = agent_svc.get_agent(uow, agent_id)
        out = agent_out(agent, float_balance(uow, agent))
        return AgentDetailOut(**out.model_dump(), staff_user_ids=agent_svc.staff_ids(
            uow, agent.id), members=[a.id for a in agent_svc.list_agents(uow, parent_id=agent.id)])

    return db.transact(work, what="agent float account")


@router.post("/agents/{agent_id}/suspend", response_model=AgentOut)
def suspend(agent_id: DbId, body: ReasonIn, user: User = Depends(agents_write),
            db: Database = Depends(database)) -> AgentOut:
    """Stop an agent (and a chain's stores) selling; its float stays."""
    return _agent_state(db, user, agent_id, "suspended", body.reason)


@router.post("/agents/{agent_id}/activate", response_model=AgentOut)
def activate(agent_id: DbId, body: ReasonIn, user: User = Depends(agents_write),
             db: Database = Depends(database)) -> AgentOut:
    """Let a suspended agent sell again."""
    return _agent_state(db, user, agent_id, "active", body.reason)


def _agent_state(db: Database, user: User, agent_id: int, state: str, reason: str) -> AgentOut:
    return agent_out(db.transact(lambda uow: agent_svc.set_state(
        uow, agent_id, state, actor_id=user.id, reason=reason), what=f"agent {state}"))


@router.post("/agents/{agent_id}/staff", status_code=201, response_model=UserOut)
def add_staff(agent_id: DbId, body: StaffLoginIn, user: User = Depends(agents_write),
              db: Database = Depends(database)) -> UserOut:
    """Create a staff login (role agent) that acts for this agent at the POS."""
    made = db.transact(lambda uow: agent_svc.add_staff(
        uow, agent_id, email=body.email, phone=body.phone, password=body.password,
        actor_id=user.id), what="agent staff")
    return UserOut(**made.__dict__)


@router.delete("/agents/{agent_id}/staff/{user_id}", status_code=204)
def remove_staff(agent_id: DbId, user_id: DbId, user: User = Depends(agents_write),
                 db: Database = Depends(database)) -> Response:
    """Unlink a staff login: it can no longer act for the agent."""
    db.transact(lambda uow: agent_svc.remove_staff(uow, agent_id, user_id, actor_id=user.id),
                what="agent staff")
    return Response(status_code=204)


@router.post("/agents/{agent_id}/float", status_code=201, response_model=FundOut)
def fund(agent_id: DbId, body: FundIn,
         idempotency_key: str | None = Header(None, description=KEY_DOC),
         user: User = Depends(agents_fund), db: Database = Depends(database)) -> Any:
    """Credit the agent's float after it paid the operator (reason audited)."""

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        done = fund_float(uow, agent_id, body.amount, key=body.reference, reason=body.reason,
                          actor_id=user.id)
        return 201, jsonable_encoder(FundOut(
            agent_id=done.agent_id, transfer_id=done.transfer_id, amount=money_out(done.amount),
            float_balance=money_out(done.balance), replayed=done.replayed))

    return respond(run_once(db, user.id, idempotency_key, "POST",
                            f"/api/v1/admin/agents/{agent_id}/float", body.model_dump(), work,
                            retry=True))


@router.get("/agents/{agent_id}/statement", response_model=StatementOut)
def statement(agent_id: DbId, day: date | None = Query(None, alias="date", description=DATE_DOC),
              _: User = Depends(agents_read), db: Database = Depends(database)) -> StatementOut:
    """The agent's float statement for one day (from the replica when there is one)."""
    with db.unit(readonly=True, replica=True) as uow:
        return statement_out(daily_statement(uow, agent_id, day or uow.now.date()))


@router.get("/agents/{agent_id}/kyc", response_model=list[KycRecordOut])
def kyc_records(agent_id: DbId, _: User = Depends(agents_write), db: Database = Depends(database)
                ) -> list[KycRecordOut]:
    """The agent's KYC records, newest first (masked; the numbers are never stored)."""
    with db.unit(readonly=True) as uow:
        agent_svc.get_agent(uow, agent_id)
        return [kyc_record_out(r) for r in kyc.records(uow, agent_id)]


def credentials_out(c: Credentials) -> TerminalCredentialsOut:
    return TerminalCredentialsOut(**terminal_out(c.terminal).model_dump(), secret=c.secret)


@router.post("/agents/{agent_id}/terminals", status_code=201,
             response_model=TerminalCredentialsOut)
def create_terminal(agent_id: DbId, body: TerminalIn, user: User = Depends(agents_write),
                    db: Database = Depends(database)) -> TerminalCredentialsOut:
    """Register a terminal; the secret in the answer is shown this once."""
    return credentials_out(db.transact(lambda uow: terminal_svc.create_terminal(
        uow, agent_id, body.label, actor_id=user.id), what="terminal"))


@router.get("/agents/{agent_id}/terminals", response_model=list[TerminalOut])
def list_terminals(agent_id: DbId, _: User = Depends(agents_read), db: Database = Depends(database)
                   ) -> list[TerminalOut]:
    """The agent's terminals (never their secrets)."""
    with db.unit(readonly=True) as uow:
        return [terminal_out(t) for t in terminal_svc.terminals_of(uow, agent_id)]


def _terminal_state(db: Database, user: User, terminal_id: int, state: str, reason: str
                    ) -> TerminalOut:
    return terminal_out(db.transact(lambda uow: terminal_svc.set_state(
        uow, terminal_id, state, actor_id=user.id, reason=reason), what=f"terminal {state}"))


@router.post("/terminals/{terminal_id}/disable", response_model=TerminalOut)
def disable_terminal(terminal_id: DbId, body: ReasonIn, user: User = Depends(agents_write),
                     db: Database = Depends(database)) -> TerminalOut:
    """Disable a terminal: its requests are refused from now on."""
    return _terminal_state(db, user, terminal_id, "disabled", body.reason)


@router.post("/terminals/{terminal_id}/enable", response_model=TerminalOut)
def enable_terminal(terminal_id: DbId, body: ReasonIn, user: User = Depends(agents_write),
                    db: Database = Depends(database)) -> TerminalOut:
    """Enable a disabled terminal again (its secret is unchanged)."""
    return _terminal_state(db, user, terminal_id, "active", body.reason)


@router.post("/terminals/{terminal_id}/rotate", response_model=TerminalCredentialsOut)
def rotate(terminal_id: DbId, user: User = Depends(agents_write), db: Database = Depends(database)
           ) -> TerminalCredentialsOut:
    """Give the terminal a new secret (shown once); the old one stops working now."""
    return credentials_out(db.transact(lambda uow: terminal_svc.rotate_secret(
        uow, terminal_id, actor_id=user.id), what="terminal secret"))


@router.get("/terminals/{terminal_id}/reconciliation", response_model=TerminalReportOut)
def reconciliation(terminal_id: DbId,
                   day: date | None = Query(None, alias="date", description=DATE_DOC),
                   _: User = Depends(agents_read), db: Database = Depends(database)
                   ) -> TerminalReportOut:
    """One terminal's sales of the day, per tender (from the replica when there is one)."""
    with db.unit(readonly=True, replica=True) as uow:
        return terminal_report_out(terminal_report(uow, terminal_id, day or uow.now.date()))

