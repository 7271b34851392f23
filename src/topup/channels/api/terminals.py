"""/terminal: kiosks, ATMs and self-service machines, with HMAC-signed requests.

Every request carries ``X-Terminal-Key``, ``X-Timestamp``, ``X-Nonce`` and ``X-Signature``
(see ``topup.agents.signing`` and docs/agents.md). The signature is checked over the raw body
before the body is parsed, and the nonce is spent in a transaction of its own, so a replay is
refused even when the first request's work was refused. Value-moving calls also take an
Idempotency-Key: a terminal retrying after a timeout signs again (new nonce) with the same key
and gets the first result back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from topup.agents import signing
from topup.agents import terminals as terminal_svc
from topup.agents.agents import get_agent
from topup.agents.floats import float_balance
from topup.agents.statements import terminal_report
from topup.agents.terminals import Terminal
from topup.agents.topups import Seller, sell_topup
from topup.agents.voucher_sales import sell_voucher
from topup.channels.api.agent_views import (
    KycIn,
    TerminalReportOut,
    TopupSaleOut,
    VoucherSaleOut,
    money_out,
    terminal_report_out,
    topup_sale_out,
    voucher_sale_out,
)
from topup.channels.api.deps import database
from topup.channels.api.orders import KEY_DOC, respond
from topup.channels.api.pos import fingerprint, kyc_given
from topup.channels.api.schemas import Amount, MoneyOut
from topup.db.uow import Database, UnitOfWork
from topup.orders.idempotency import run_once

router = APIRouter(prefix="/terminal", tags=["terminals"])
M = TypeVar("M", bound=BaseModel)
SIGNED = {"description": "Signed request: X-Terminal-Key, X-Timestamp, X-Nonce, X-Signature"}


@dataclass(frozen=True)
class Signed:
    """A verified request: the terminal that signed it and the raw body it signed."""

    terminal: Terminal
    body: bytes


def _target(request: Request) -> str:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    query = request.scope.get("query_string") or b""
    return raw.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")


def _authenticate(db: Database, req: signing.SignedRequest) -> Terminal:
    # commits the spent nonce whatever the work does next
    return db.transact(lambda uow: terminal_svc.authenticate(uow, req), what="terminal nonce")


async def signed(request: Request, db: Database = Depends(database)) -> Signed:
    """Verify the signature over the raw body; 401 bad/missing, 409 replay, 403 disabled."""
    body = await request.body()
    req = signing.parse(dict(request.headers), request.method, _target(request), body)
    terminal = await run_in_threadpool(_authenticate, db, req)
    return Signed(terminal, body)


def parse_body(model: type[M], body: bytes) -> M:
    """Parse the already verified body; 422 problem+json like any other request body."""
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that parses its body itself."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}


class TerminalTopupIn(KycIn):
    msisdn: str = Field(..., description="The line's number in E.164, e.g. +66812345678")
    amount: Amount = Field(..., description="Minor units of the agent's currency")
    tender: Literal["cash", "card"] = Field(..., description="How the buyer paid the terminal")


class TerminalVoucherIn(BaseModel):
    serial: str = Field(..., min_length=1, max_length=40, description="The card's serial")
    tender: Literal["cash", "card"] = Field(..., description="How the buyer paid the terminal")


class TerminalMeOut(BaseModel):
    terminal_id: int
    key_id: str
    label: str
    agent_id: int
    agent_name: str
    float_balance: MoneyOut


@router.get("/me", response_model=TerminalMeOut, responses={401: SIGNED})
def me(s: Signed = Depends(signed), db: Database = Depends(database)) -> TerminalMeOut:
    """Who the terminal is and what its operator's float holds (a signed health check)."""
    def work(uow: UnitOfWork) -> TerminalMeOut:  # may open the float account on first use
        agent = get_agent(uow, s.terminal.agent_id)
        return TerminalMeOut(terminal_id=s.terminal.id, key_id=s.terminal.key_id,
                             label=s.terminal.label, agent_id=agent.id, agent_name=agent.name,
                             float_balance=money_out(float_balance(uow, agent)))

    return db.transact(work, what="agent float account")


@router.post("/topups", status_code=201, response_model=TopupSaleOut,
             openapi_extra=body_doc(TerminalTopupIn), responses={401: SIGNED})
def topup(idempotency_key: str | None = Header(None, description=KEY_DOC),
          s: Signed = Depends(signed), db: Database = Depends(database)) -> Any:
    """Top up a line by MSISDN after the terminal took the buyer's cash or card."""
    body = parse_body(TerminalTopupIn, s.body)
    t = s.terminal

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        seller = Seller(t.agent_id, t.user_id, terminal_id=t.id, tender=body.tender)
        done = sell_topup(uow, seller, body.msisdn, body.amount, kyc_given=kyc_given(body),
                          msisdn_only=True)
        return 201, jsonable_encoder(topup_sale_out(done))

    return respond(run_once(db, t.user_id, idempotency_key, "POST", "/api/v1/terminal/topups",
                            fingerprint(db, body), work, retry=True))


@router.post("/vouchers", status_code=201, response_model=VoucherSaleOut,
             openapi_extra=body_doc(TerminalVoucherIn), responses={401: SIGNED})
def sell_card(idempotency_key: str | None = Header(None, description=KEY_DOC),
              s: Signed = Depends(signed), db: Database = Depends(database)) -> Any:
    """Sell a scratch card (the terminal dispenses or prints it) after taking the money."""
    body = parse_body(TerminalVoucherIn, s.body)
    t = s.terminal

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        seller = Seller(t.agent_id, t.user_id, terminal_id=t.id, tender=body.tender)
        return 201, jsonable_encoder(voucher_sale_out(sell_voucher(uow, seller, body.serial)))

    return respond(run_once(db, t.user_id, idempotency_key, "POST",
                            "/api/v1/terminal/vouchers", body.model_dump(), work, retry=True))


@router.get("/reconciliation", response_model=TerminalReportOut, responses={401: SIGNED})
def reconciliation(day: date | None = Query(None, alias="date",
                                            description="UTC day, YYYY-MM-DD (default today)"),
                   s: Signed = Depends(signed), db: Database = Depends(database)
                   ) -> TerminalReportOut:
    """This terminal's sales of the day, per tender, to reconcile the cash box and cards."""
    return terminal_report_out(db.transact(lambda uow: terminal_report(
        uow, s.terminal.id, day or uow.now.date()), what="terminal report"))
