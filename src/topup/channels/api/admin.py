"""/admin: operator staff — lines (create, search, freeze), manual credit, plans, audit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from topup.audit.service import entries
from topup.audit.service import record as audit
from topup.channels.api.bounds import DbId
from topup.channels.api.deps import allowed, database
from topup.channels.api.orders import KEY_DOC, respond
from topup.channels.api.schemas import (
    Amount,
    FreezeIn,
    LineOut,
    ManualCreditIn,
    OrderOut,
    StaffIn,
    UserOut,
)
from topup.channels.api.views import line_out, order_out
from topup.db.uow import Database, UnitOfWork
from topup.orders import refunds
from topup.orders import service as orders
from topup.orders.idempotency import (
    IdempotencyKeyRequired,
    Outcome,
    recent_answers,
    request_hash,
    require_key,
)
from topup.orders.model import Order, OrderRequest
from topup.orders.refunds import NotRefundable
from topup.orders.topups import TopUp
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.subscribers.identity import check_card_secret

router = APIRouter(prefix="/admin", tags=["admin"])
audit_read = allowed("audit.read")
lines_create = allowed("lines.create")
lines_credit = allowed("lines.credit")
lines_freeze = allowed("lines.freeze")
lines_read = allowed("lines.read")
orders_read = allowed("orders.read")
refunds_write = allowed("refunds.write")
staff_manage = allowed("staff.manage")


class LineIn(BaseModel):
    iccid: str
    secret: str = Field(..., min_length=4)
    currency: str
    msisdn: str | None = None
    imsi: str | None = None
    kind: str = "sim"
    smdp_address: str | None = None
    matching_id: str | None = None
    home_country: str | None = None


@router.post("/lines", status_code=201, response_model=LineOut)
def create_line(body: LineIn, user: User = Depends(lines_create), db: Database = Depends(database)
                ) -> LineOut:
    """Add one SIM/eSIM line (bulk: ``topup lines import``); the card secret must be strong
    (``422 weak_card_secret``: at least TOPUP_CARD_SECRET_MIN_LENGTH characters, no run or
    repetition)."""
    check_card_secret(body.secret, db.settings.card_secret_min_length)
    def work(uow: UnitOfWork) -> LineOut:
        line = line_svc.create_line(uow, line_svc.LineSpec(**body.model_dump()))
        audit(uow, user.id, "line.create", f"line:{line.id}", iccid=line.iccid)
        return line_out(line)

    return db.transact(work, what="line")


@router.get("/lines", response_model=list[LineOut])
def search(q: str = Query(..., min_length=3, description="Part of an ICCID or MSISDN"),
           _: User = Depends(lines_read), db: Database = Depends(database)) -> list[LineOut]:
    """Find lines by ICCID or MSISDN."""
    with db.unit(readonly=True) as uow:
        return [line_out(x) for x in line_svc.search_lines(uow, q)]


@router.post("/lines/{line_id}/freeze", response_model=LineOut)
def freeze(line_id: DbId, body: FreezeIn, user: User = Depends(lines_freeze),
           db: Database = Depends(database)) -> LineOut:
    """Freeze a line: top-ups and usage are refused until it is unfrozen."""
    return db.transact(lambda uow: line_out(line_svc.freeze(uow, line_id, actor=user.id,
                                                           reason=body.reason)), what="freeze")


@router.post("/lines/{line_id}/unfreeze", response_model=LineOut)
def unfreeze(line_id: DbId, body: FreezeIn, user: User = Depends(lines_freeze),
             db: Database = Depends(database)) -> LineOut:
    """Lift a freeze; the line returns to the state it had."""
    return db.transact(lambda uow: line_out(line_svc.unfreeze(uow, line_id, actor=user.id,
                                                             reason=body.reason)),
                       what="unfreeze")


@router.post("/lines/{line_id}/credit", status_code=201, response_model=OrderOut)
async def credit(line_id: DbId, body: ManualCreditIn,
                 idempotency_key: str | None = Header(None, description=KEY_DOC),
                 user: User = Depends(lines_credit), db: Database = Depends(database)) -> Any:
    """Credit a line's wallet by hand (cash at the office, goodwill); reason required, audited.
    Committed by the database's writer with whatever other top-ups are waiting."""
    return respond(await credit_line(db, user, line_id, body, idempotency_key))


async def credit_line(db: Database, user: User, line_id: int, body: ManualCreditIn,
                      idempotency_key: str | None) -> Outcome:
    """The manual credit, for ``credit`` and for the fast lane (channels/api/fastlane.py):
    a retry this process answered lately is replayed from memory, the rest goes to the
    writer; raises the TopupError that refused it."""
    key = require_key(idempotency_key)
    path = f"/api/v1/admin/lines/{line_id}/credit"
    digest = request_hash("POST", path, body.model_dump())
    recent = recent_answers(db)
    outcome = recent.get(user.id, key, digest)
    if outcome is None:
        req = OrderRequest(kind="topup", method="manual", channel="admin",
                                  currency=body.currency, amount=body.amount,
                                  reason=body.reason, confirm_duplicate=body.confirm_duplicate)
        outcome = await db.writer.run(TopUp(user.id, key, path, digest, user.id, line_id, req,
                                            _order_body))
        recent.put(user.id, key, digest, outcome)
    return outcome


def _order_body(order: Order) -> Any:
    return order_out(order).model_dump(mode="json")  # what jsonable_encoder makes, directly


@router.post("/staff", status_code=201, response_model=UserOut)
def create_staff(body: StaffIn, user: User = Depends(staff_manage), db: Database = Depends(database)
                 ) -> UserOut:
    """Create a staff, agent, terminal or network login."""
    def work(uow: UnitOfWork) -> UserOut:
        made = auth.register(uow, email=body.email, phone=None, password=body.password,
                             role=body.role)
        audit(uow, user.id, "user.create", f"user:{made.id}", role=body.role)
        return UserOut(**made.__dict__)

    return db.transact(work, what="staff login")


@router.get("/audit")
def audit_log(target: str | None = None, _: User = Depends(audit_read),
              db: Database = Depends(database)) -> list[dict[str, Any]]:
    """The newest staff actions, optionally for one target such as ``line:7``."""
    with db.unit(readonly=True) as uow:
        return jsonable_encoder(entries(uow, target))


class RefundIn(BaseModel):
    amount: Amount | None = Field(None, description="Minor units; omit for all refundable")
    reason: str = Field(..., min_length=3, max_length=500)


@router.post("/orders/{order_id}/refunds", status_code=201)
def refund(order_id: DbId, body: RefundIn, request: Request,
           idempotency_key: str | None = Header(None, description=KEY_DOC),
           user: User = Depends(refunds_write), db: Database = Depends(database)) -> dict[str, Any]:
    """Refund a provider-paid order (a top-up, a converted top-up, an untouched plan), in full
    or in part, through its provider; the amount is in the currency the payer paid. An
    untouched plan bought from the wallet goes back to the wallet, in full."""
    if not idempotency_key:
        raise IdempotencyKeyRequired("send an Idempotency-Key header")
    with db.unit(readonly=True) as uow:
        order = orders.get_order(uow, order_id)
    if order.method == "wallet":
        if body.amount not in (None, order.amount):
            raise NotRefundable("a plan goes back to the wallet in full", refundable=order.amount)
        back = refunds.return_plan_to_wallet(db, order_id, key=f"{user.id}:{idempotency_key}",
                                             reason=body.reason, actor_id=user.id)
        return dict(jsonable_encoder(back))
    provider = request.app.state.payment_providers.get(
        (order.payment_ref or "").split(":", 1)[0])
    if provider is None:
        raise NotRefundable("this order was not paid through a configured provider")
    done = refunds.refund_order(db, provider, order_id, key=f"{user.id}:{idempotency_key}",
                                reason=body.reason, actor_id=user.id, amount=body.amount)
    return dict(jsonable_encoder(done))


@router.get("/orders/{order_id}/refunds")
def list_refunds(order_id: DbId, _: User = Depends(orders_read), db: Database = Depends(database)
                 ) -> list[dict[str, Any]]:
    """The refunds of an order and where each stands."""
    with db.unit(readonly=True) as uow:
        return [dict(jsonable_encoder(r)) for r in refunds.order_refunds(uow, order_id)]


@router.post("/orders/{order_id}/refunds/paid-out", status_code=201)
def refund_paid_out(order_id: DbId, body: RefundIn,
                    idempotency_key: str | None = Header(None, description=KEY_DOC),
                    user: User = Depends(refunds_write), db: Database = Depends(database)
                    ) -> dict[str, Any]:
    """Record a refund finance already paid by hand (e.g. a bank transfer back to the payer)."""
    if not idempotency_key:
        raise IdempotencyKeyRequired("send an Idempotency-Key header")
    done = refunds.record_paid_out(db, order_id, key=f"{user.id}:{idempotency_key}",
                                   reason=body.reason, actor_id=user.id, amount=body.amount)
    return dict(jsonable_encoder(done))
