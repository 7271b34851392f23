"""/admin catalogue management: plans with prices, top-up limits, presets, out-of-bundle rates.
Every change is audited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.catalog.fx import set_fx_rate
from topup.channels.api.bounds import DB_INT_MAX, INT32_MAX, MAX_VALIDITY_DAYS
from topup.channels.api.deps import allowed, database
from topup.channels.api.messages import language_of
from topup.channels.api.schemas import Amount, AmountOrZero, PlanOut
from topup.channels.api.views import plan_out
from topup.db.uow import Database, UnitOfWork
from topup.subscribers.auth import User

router = APIRouter(prefix="/admin", tags=["admin"])
catalog_read = allowed("catalog.read")
catalog_write = allowed("catalog.write")


class PlanIn(BaseModel):
    code: str
    name_en: str
    name_zh: str
    zone_code: str
    kind: Literal["day", "week", "month", "quarter", "year", "addon"]
    data_bytes: int = Field(0, ge=0, le=DB_INT_MAX)
    voice_seconds: int = Field(0, ge=0, le=DB_INT_MAX)
    sms_count: int = Field(0, ge=0, le=INT32_MAX)
    validity_days: int = Field(..., gt=0, le=MAX_VALIDITY_DAYS)
    validity_start: Literal["purchase", "first_use"] = "purchase"
    renew_on: Literal["expiry", "data_out"] = Field(
        "expiry", description="Auto-renew buys the plan again at its end, or once its data "
                              "is used up")
    priority: int = Field(100, ge=0, le=INT32_MAX)
    active: bool = True
    prices: dict[str, Amount] = Field(..., description="Minor units per ISO 4217 currency")


class LimitIn(BaseModel):
    zone_code: str
    currency: str
    min_amount: Amount
    max_amount: Amount


class PresetsIn(BaseModel):
    amounts: list[Amount] = Field(..., description="Minor units, e.g. [5000, 10000, 20000]")


class RateIn(BaseModel):
    zone_code: str
    currency: str
    unit: Literal["data", "voice", "sms"]
    rate: Amount = Field(..., description="Minor units charged per per_quantity units")
    per_quantity: int = Field(..., gt=0, le=DB_INT_MAX,
                              description="e.g. 1048576 bytes, 60 seconds, 1 SMS")


@router.put("/plans", response_model=PlanOut)
def put_plan(body: PlanIn, request: Request, user: User = Depends(catalog_write),
             db: Database = Depends(database)) -> PlanOut:
    """Create or update a plan by code, with its prices (minor units per currency)."""
    def work(uow: UnitOfWork) -> catalog.Plan:
        plan = catalog.upsert_plan(uow, catalog.PlanSpec(**body.model_dump()))
        audit(uow, user.id, "plan.upsert", f"plan:{plan.id}", **body.model_dump())
        return plan

    return plan_out(db.transact(work, what="plan"), language_of(request))


@router.put("/topup-limits", status_code=204)
def put_limit(body: LimitIn, user: User = Depends(catalog_write), db: Database = Depends(database)
              ) -> None:
    """Set the min/max of one top-up in a country or region."""
    _change(db, user, lambda uow: catalog.set_topup_limit(
        uow, body.zone_code, body.currency, body.min_amount, body.max_amount),
        "catalog.limit", f"zone:{body.zone_code}", body.model_dump())


@router.put("/presets/{currency}", status_code=204)
def put_presets(currency: str, body: PresetsIn, user: User = Depends(catalog_write),
                db: Database = Depends(database)) -> None:
    """Replace the preset top-up amounts offered in a currency."""
    _change(db, user, lambda uow: catalog.set_presets(uow, currency, body.amounts),
            "catalog.presets", f"currency:{currency}", {"amounts": body.amounts})


@router.put("/oob-rates", status_code=204)
def put_rate(body: RateIn, user: User = Depends(catalog_write), db: Database = Depends(database)
             ) -> None:
    """Set an out-of-bundle rate for a zone, currency and unit."""
    _change(db, user, lambda uow: catalog.set_oob_rate(
        uow, body.zone_code, body.currency, body.unit, body.rate, body.per_quantity),
        "catalog.rate", f"zone:{body.zone_code}", body.model_dump())


class FeeIn(BaseModel):
    channel: str = Field("*", description="api, ivr, ussd, sms, pos, admin… or * for any")
    method: str = Field("*", description="wallet, stripe, alipay, wechatpay… or * for any")
    currency: str
    fixed: AmountOrZero = Field(0, description="Minor units")
    rate_bp: int = Field(0, ge=0, le=10000, description="Basis points of the amount")


@router.put("/fees", status_code=204)
def put_fee(body: FeeIn, user: User = Depends(catalog_write),
            db: Database = Depends(database)) -> None:
    """Set the fee for a channel and payment method (shown to payers before they confirm)."""
    _change(db, user, lambda uow: catalog.set_fee_rule(
        uow, body.channel, body.method, body.currency, body.fixed, body.rate_bp),
        "catalog.fee", f"fee:{body.channel}:{body.method}", body.model_dump())


@router.get("/fees")
def get_fees(_: User = Depends(catalog_read), db: Database = Depends(database)
             ) -> list[dict[str, object]]:
    """Every fee rule."""
    with db.unit(readonly=True) as uow:
        return catalog.fee_rules_list(uow)


class FxRateIn(BaseModel):
    base: str = Field(..., description="The currency paid, e.g. USD")
    quote: str = Field(..., description="The wallet currency credited, e.g. CNY")
    rate: str = Field(..., max_length=40,
                      description="Quote units per one base unit, decimal text: 7.1234")


@router.put("/fx-rates", status_code=204)
def put_fx_rate(body: FxRateIn, user: User = Depends(catalog_write),
                db: Database = Depends(database)
                ) -> None:
    """Set the rate for top-ups paid in ``base`` into a ``quote`` wallet (new orders only)."""
    _change(db, user, lambda uow: set_fx_rate(uow, body.base, body.quote, body.rate),
            "catalog.fx_rate", f"fx:{body.base}:{body.quote}", body.model_dump())


def _change(db: Database, user: User, change: Callable[[UnitOfWork], object], action: str,
            target: str, data: dict[str, Any]) -> None:
    """``change`` and its audit entry, in one transaction (run again after a conflict)."""
    def work(uow: UnitOfWork) -> None:
        change(uow)
        audit(uow, user.id, action, target, **data)

    db.transact(work, what=action)
