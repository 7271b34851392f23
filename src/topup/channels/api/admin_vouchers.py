"""/admin voucher batches and cards for staff: create, list, activate, block and unblock.

PINs never cross the API: a batch created here has no cards yet; its cards and their one
export are made by ``topup vouchers generate --batch ID --out DIR`` on the operator's machine.
Every change is audited by the services.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId, UtcDatetime
from topup.channels.api.deps import allowed, database
from topup.channels.api.schemas import Amount, MoneyOut
from topup.channels.api.vouchers import money_out
from topup.db.uow import Database, UnitOfWork
from topup.subscribers.auth import User
from topup.vouchers import service as vouchers
from topup.vouchers.batches import MAX_COUNT

router = APIRouter(prefix="/admin", tags=["admin", "vouchers"])
vouchers_read = allowed("vouchers.read")
vouchers_write = allowed("vouchers.write")


class BatchIn(BaseModel):
    count: int = Field(..., gt=0, le=MAX_COUNT, description="How many cards")
    expires_at: UtcDatetime = Field(..., description="When unused cards expire (with a zone)")
    face_amount: Amount | None = Field(None, description="Minor units; omit for a plan")
    currency: str | None = Field(None, description="Default: the operator's currency")
    plan_id: DbId | None = Field(None, description="A plan voucher buys this plan")
    pin_length: int = Field(16, ge=14, le=16)
    distributor: str | None = Field(None, max_length=200)
    agent_id: DbId | None = None
    label: str | None = Field(None, max_length=200)


class BatchOut(BaseModel):
    id: int
    label: str | None
    count: int
    face: MoneyOut
    plan_id: int | None
    pin_length: int
    serial_first: str
    serial_last: str
    expires_at: datetime
    distributor: str | None
    agent_id: int | None
    state: str
    generated: int
    complete: bool
    created_at: datetime
    activated_at: datetime | None
    cards: dict[str, int] = Field(default_factory=dict, description="Cards per state")


class ActivateIn(BaseModel):
    distributor: str | None = Field(None, max_length=200)
    agent_id: DbId | None = None


class ReasonIn(BaseModel):
    reason: str = Field(..., min_length=1, max_length=500)


class RangeIn(ReasonIn):
    first: str = Field(..., description="First serial of the range")
    last: str = Field(..., description="Last serial of the range (inclusive)")


class RangeOut(BaseModel):
    cards: int = Field(..., description="How many cards changed")


class VoucherOut(BaseModel):
    serial: str
    batch_id: int
    state: str
    face: MoneyOut
    plan_id: int | None
    expires_at: datetime
    activated_at: datetime | None
    used_at: datetime | None
    line_id: int | None
    order_id: int | None


def batch_out(batch: vouchers.BatchView, cards: dict[str, int] | None = None) -> BatchOut:
    fields = {k: getattr(batch, k) for k in BatchOut.model_fields
              if k not in ("face", "complete", "cards")}
    return BatchOut(**fields, face=money_out(batch.face), complete=batch.complete,
                    cards=cards or {})


@router.post("/voucher-batches", response_model=BatchOut, status_code=201)
def create(body: BatchIn, user: User = Depends(vouchers_write), db: Database = Depends(database)
           ) -> BatchOut:
    """Record a batch and its serial range; then run ``topup vouchers generate --batch ID``."""
    return batch_out(db.transact(lambda uow: vouchers.create_batch(
        uow, vouchers.BatchSpec(**body.model_dump()), user.id), what="voucher batch"))


@router.get("/voucher-batches", response_model=list[BatchOut])
def listing(limit: int = Query(50, ge=1, le=200), before: DbId | None = None,
            _: User = Depends(vouchers_read), db: Database = Depends(database)) -> list[BatchOut]:
    """Batches, newest first (page with ``before`` = the last id seen)."""
    with db.unit(readonly=True) as uow:
        return [batch_out(b) for b in vouchers.list_batches(uow, limit=limit, before=before)]


@router.get("/voucher-batches/{batch_id}", response_model=BatchOut)
def detail(batch_id: DbId, _: User = Depends(vouchers_read), db: Database = Depends(database)
           ) -> BatchOut:
    """One batch with how many of its cards are in each state."""
    with db.unit(readonly=True) as uow:
        return batch_out(vouchers.get_batch(uow, batch_id), vouchers.batch_counts(uow, batch_id))


@router.post("/voucher-batches/{batch_id}/activate", response_model=BatchOut)
def activate(batch_id: DbId, body: ActivateIn, user: User = Depends(vouchers_write),
             db: Database = Depends(database)) -> BatchOut:
    """The batch was sold to a distributor: its unsold cards become redeemable."""
    def work(uow: UnitOfWork) -> BatchOut:
        batch = vouchers.activate_batch(uow, batch_id, user.id, distributor=body.distributor,
                                        agent_id=body.agent_id)
        return batch_out(batch, vouchers.batch_counts(uow, batch_id))

    return db.transact(work, what="voucher batch activation")


@router.post("/voucher-batches/{batch_id}/block", response_model=BatchOut)
def block(batch_id: DbId, body: ReasonIn, user: User = Depends(vouchers_write),
          db: Database = Depends(database)) -> BatchOut:
    """Block a whole batch (lost shipment, dispute)."""
    return batch_out(db.transact(
        lambda uow: vouchers.block_batch(uow, batch_id, user.id, body.reason),
        what="voucher batch block"))


@router.post("/voucher-batches/{batch_id}/unblock", response_model=BatchOut)
def unblock(batch_id: DbId, body: ReasonIn, user: User = Depends(vouchers_write),
            db: Database = Depends(database)) -> BatchOut:
    """Lift a batch's block."""
    return batch_out(db.transact(
        lambda uow: vouchers.unblock_batch(uow, batch_id, user.id, body.reason),
        what="voucher batch unblock"))


@router.post("/vouchers/block", response_model=RangeOut)
def block_range(body: RangeIn, user: User = Depends(vouchers_write),
                db: Database = Depends(database)
                ) -> RangeOut:
    """Block every unused card with a serial in ``first..last``."""
    return RangeOut(cards=db.transact(
        lambda uow: vouchers.block_range(uow, body.first, body.last, user.id, body.reason),
        what="voucher range block"))


@router.post("/vouchers/unblock", response_model=RangeOut)
def unblock_range(body: RangeIn, user: User = Depends(vouchers_write),
                  db: Database = Depends(database)
                  ) -> RangeOut:
    """Unblock the blocked cards with a serial in ``first..last``."""
    return RangeOut(cards=db.transact(
        lambda uow: vouchers.unblock_range(uow, body.first, body.last, user.id, body.reason),
        what="voucher range unblock"))


@router.get("/vouchers/{serial}", response_model=VoucherOut)
def voucher(serial: str, _: User = Depends(vouchers_read), db: Database = Depends(database)
            ) -> VoucherOut:
    """One card as staff see it: state, value, where and when it was used (never its PIN)."""
    with db.unit(readonly=True) as uow:
        v = vouchers.get_voucher(uow, serial)
    fields = {k: getattr(v, k) for k in VoucherOut.model_fields if k != "face"}
    return VoucherOut(**fields, face=money_out(v.face))
