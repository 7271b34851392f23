"""/admin/campaigns: promotions — define, list, pause or end campaigns, and make promo codes.

Staff with ``promotions.read`` see campaigns; ``promotions.write`` (admins) define and change
them. Every change is audited; a batch of single-use codes is answered once and audited by
count, never by the codes themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field, StrictInt, model_validator

from topup.audit.service import record as audit
from topup.channels.api.bounds import DbId
from topup.channels.api.deps import allowed, database
from topup.channels.api.schemas import Amount, AmountOrZero
from topup.db.uow import Database, UnitOfWork
from topup.promotions import store
from topup.promotions.rules import Scope
from topup.promotions.store import MAX_BATCH, MAX_TIERS, SALE_CHANNELS, Kept
from topup.promotions.tables import CAMPAIGN_KINDS, CAMPAIGN_STATES
from topup.subscribers.auth import User

router = APIRouter(prefix="/admin", tags=["admin: promotions"])
promotions_read = allowed("promotions.read")
promotions_write = allowed("promotions.write")
Limit = StrictInt


class ScopeIn(BaseModel):
    plans: list[DbId] = Field(default_factory=list, max_length=200,
                              description="Plan ids; none: every plan")
    zones: list[str] = Field(default_factory=list, max_length=100,
                             description="Zone codes (a country or a region) a plan covers")
    channels: list[Literal[SALE_CHANNELS]] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Sales channels; none: every channel")
    agents: list[DbId] = Field(default_factory=list, max_length=200,
                               description="Agent ids; none: any")
    first_purchase_only: bool = False
    topups: bool = Field(default=False, description="Whether wallet top-ups count")

    def scope(self) -> Scope:
        return Scope(plans=frozenset(self.plans), zones=frozenset(self.zones),
                     channels=frozenset(self.channels), agents=frozenset(self.agents),
                     first_purchase_only=self.first_purchase_only, topups=self.topups)


class CampaignIn(BaseModel):
    kind: Literal[CAMPAIGN_KINDS]  # type: ignore[valid-type]
    name: str = Field(..., min_length=1, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    currency: str | None = Field(None, description="ISO 4217; needed by any amount")
    percent_bp: int | None = Field(None, ge=1, le=10000, description="100 = 1 %")
    amount_off: Amount | None = None
    prices: dict[DbId, Amount] = Field({}, description="Sale price per plan id (discount)")
    tiers: list[tuple[Amount, Amount]] = Field(
        [], max_length=MAX_TIERS, description="(spend, save) or (top-up, bonus) pairs")
    repeat: bool = False
    cap: Amount | None = None
    min_spend: AmountOrZero = 0
    scope: ScopeIn = Field(default_factory=lambda: ScopeIn())
    total_limit: Limit | None = Field(None, ge=1, le=10**9)
    per_customer_limit: Limit | None = Field(None, ge=1, le=10**9)
    budget: Amount | None = None
    frees_code_on_refund: bool = False

    def spec(self) -> store.CampaignSpec:
        values = self.model_dump(exclude={"scope"})
        return store.CampaignSpec(**values, scope=self.scope.scope())


class CampaignOut(BaseModel):
    id: int
    kind: str
    name: str
    state: str
    starts_at: datetime
    ends_at: datetime
    currency: str | None
    percent_bp: int | None
    amount_off: int | None
    prices: dict[int, int]
    tiers: list[tuple[int, int]]
    repeat: bool
    cap: int | None
    min_spend: int
    scope: dict[str, Any]
    total_limit: int | None
    per_customer_limit: int | None
    budget: int | None
    uses: int
    spent: int
    frees_code_on_refund: bool


def campaign_out(kept: Kept) -> CampaignOut:
    c, s = kept.campaign, kept.campaign.scope
    return CampaignOut(
        id=c.id, kind=c.kind, name=c.name, state=kept.state, starts_at=c.starts_at,
        ends_at=c.ends_at, currency=c.currency, percent_bp=c.percent_bp,
        amount_off=c.amount_off, prices=dict(c.prices), tiers=list(c.tiers), repeat=c.repeat,
        cap=c.cap, min_spend=c.min_spend,
        scope={"plans": sorted(s.plans), "zones": sorted(s.zones),
               "channels": sorted(s.channels), "agents": sorted(s.agents),
               "first_purchase_only": s.first_purchase_only, "topups": s.topups},
        total_limit=kept.total_limit, per_customer_limit=kept.per_customer_limit,
        budget=kept.budget, uses=kept.uses, spent=kept.spent,
        frees_code_on_refund=kept.frees_code_on_refund)


class StateIn(BaseModel):
    state: Literal[CAMPAIGN_STATES]  # type: ignore[valid-type]


class CodesIn(BaseModel):
    """One shared ``code`` (optionally limited to ``max_uses``), or ``count`` single-use
    codes starting with ``prefix``."""

    code: str | None = Field(None, min_length=4, max_length=60)
    max_uses: Limit | None = Field(None, ge=1, le=10**9)
    count: int | None = Field(None, ge=1, le=MAX_BATCH)
    prefix: str = Field("", max_length=12)

    @model_validator(mode="after")
    def one_way(self) -> CodesIn:
        if (self.code is None) == (self.count is None):
            raise ValueError("send either code or count")
        return self


class CodesOut(BaseModel):
    codes: list[str]


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(state: Literal[CAMPAIGN_STATES] | None = Query(None),  # type: ignore[valid-type]
                   _: User = Depends(promotions_read), db: Database = Depends(database)
                   ) -> list[CampaignOut]:
    """Campaigns, newest first (at most 200)."""
    with db.unit(readonly=True) as uow:
        return [campaign_out(k) for k in store.listed(uow, state=state)]


@router.post("/campaigns", status_code=201, response_model=CampaignOut)
def create_campaign(body: CampaignIn, user: User = Depends(promotions_write),
                    db: Database = Depends(database)) -> CampaignOut:
    """Define a campaign; it is active from its start to its end unless paused."""
    def work(uow: UnitOfWork) -> CampaignOut:
        cid = store.create_campaign(uow, body.spec(), actor_id=user.id)
        audit(uow, user.id, "promotions.create", f"campaign:{cid}", kind=body.kind,
              name=body.name)
        return campaign_out(store.get(uow, cid))

    return db.transact(work, what="campaign")


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: DbId, _: User = Depends(promotions_read),
                 db: Database = Depends(database)) -> CampaignOut:
    """One campaign with its counters."""
    with db.unit(readonly=True) as uow:
        return campaign_out(store.get(uow, campaign_id))


@router.post("/campaigns/{campaign_id}/state", status_code=204)
def set_state(campaign_id: DbId, body: StateIn, user: User = Depends(promotions_write),
              db: Database = Depends(database)) -> None:
    """Pause, resume (``active``) or end a campaign (an ended one stays ended)."""
    def work(uow: UnitOfWork) -> None:
        store.set_state(uow, campaign_id, body.state)
        audit(uow, user.id, "promotions.state", f"campaign:{campaign_id}", state=body.state)

    db.transact(work, what="campaign state")


@router.post("/campaigns/{campaign_id}/codes", status_code=201, response_model=CodesOut)
def make_codes(campaign_id: DbId, body: CodesIn, user: User = Depends(promotions_write),
               db: Database = Depends(database)) -> CodesOut:
    """Add a shared code, or make a batch of single-use codes (answered this once: keep
    them)."""
    def work(uow: UnitOfWork) -> CodesOut:
        if body.code is not None:
            codes = [store.add_code(uow, campaign_id, body.code, body.max_uses)]
        else:
            codes = store.make_codes(uow, campaign_id, int(body.count or 0), body.prefix)
        audit(uow, user.id, "promotions.codes", f"campaign:{campaign_id}", count=len(codes),
              shared=body.code is not None)
        return CodesOut(codes=codes)

    return db.transact(work, what="campaign codes")
