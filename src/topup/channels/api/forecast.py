"""GET /lines/{id}/forecast: how long the line's data lasts at its pace, and what to buy when
it runs out before the plan ends (``charging.outlook``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from topup.channels.api.bounds import DbId
from topup.channels.api.deps import current_user, database
from topup.channels.api.lines import visible_line
from topup.channels.api.messages import language_of
from topup.charging.outlook import Outlook, line_outlook
from topup.db.uow import Database
from topup.subscribers.auth import User

router = APIRouter(prefix="/lines", tags=["lines"])


class SuggestionOut(BaseModel):
    kind: Literal["plan", "topup", "covered"] = Field(
        ..., description="plan: buy this plan; topup: top up this much to pay the shortfall "
                         "out of bundle; covered: the balance already pays it out of bundle")
    amount: int = Field(..., description="Minor units: the plan's or top-up's price, or what "
                                         "the out-of-bundle use will cost (covered)")
    currency: str
    plan_id: int | None = None
    plan_code: str | None = None
    plan_name: str | None = Field(None, description="In the caller's language")
    data_bytes: int | None = None


class ForecastOut(BaseModel):
    state: Literal["no_plan", "too_little_history", "outlasts_plan", "runs_out_first"]
    remaining_bytes: int = Field(..., description="Data left (what open sessions hold is out)")
    pace_bytes_per_day: int | None = Field(
        None, description="Weighted average of the last 7 whole days since the plan began; "
                          "null without enough history")
    days_left: int | None = Field(None, description="Whole days the data lasts at the pace; "
                                                    "null when the pace is zero or unknown")
    plan_days: int | None = Field(None, description="Days until the plan ends, to the nearest")
    runs_out_at: datetime | None = None
    plan_ends_at: datetime | None = None
    shortfall_bytes: int = Field(..., description="Data missing at the plan's end, at the pace")
    history_days: int
    country: str | None = Field(None, description="Where the suggestion is for")
    suggestion: SuggestionOut | None = None


def forecast_out(outlook: Outlook, lang: str) -> ForecastOut:
    """The API body of an outlook."""
    f, s = outlook.forecast, outlook.suggestion
    # the services' codes are plain strings; the models check them against their Literals
    wanted = None if s is None else SuggestionOut(
        kind=s.kind,  # type: ignore[arg-type]
        amount=s.price.amount, currency=s.price.currency, plan_id=s.plan_id,
        plan_code=s.plan_code, plan_name=s.plan_name(lang), data_bytes=s.data_bytes)
    return ForecastOut(
        state=f.state,  # type: ignore[arg-type]
        remaining_bytes=f.remaining, pace_bytes_per_day=f.pace,
        days_left=f.days_left, plan_days=f.plan_days, runs_out_at=f.runs_out_at,
        plan_ends_at=f.ends_at, shortfall_bytes=f.shortfall, history_days=f.history_days,
        country=outlook.country, suggestion=wanted)


@router.get("/{line_id}/forecast", response_model=ForecastOut)
def line_forecast(line_id: DbId, request: Request, user: User = Depends(current_user),
                  db: Database = Depends(database)) -> ForecastOut:
    """At the line's pace its data lasts about N days; its plan ends in M days; and, when the
    data runs out first, the cheapest plan (or top-up) that covers the rest."""
    with db.unit(readonly=True) as uow:
        line = visible_line(uow, user, line_id)
        return forecast_out(line_outlook(uow, line, "api"), language_of(request))
