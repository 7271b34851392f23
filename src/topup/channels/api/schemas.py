"""Request and response bodies of the REST API (they are the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictInt

from topup.channels.api.bounds import DbCount, DbId, UtcDatetime
from topup.money import MAX_AMOUNT

# Every money amount a body carries: an integer of minor units, never 1000.0, "100" or true.
Amount = Annotated[StrictInt, Field(gt=0, le=MAX_AMOUNT)]
# A money amount that may be zero (a fee's fixed part).
AmountOrZero = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)]


class RegisterIn(BaseModel):
    email: str | None = Field(None, description="E-mail login (at least one of email/phone)")
    phone: str | None = Field(None, description="Phone login in E.164, e.g. +66812345678")
    password: str = Field(..., min_length=8, max_length=256)
    language: Literal["en", "zh-CN"] = "en"
    currency: str | None = Field(None, description="Home currency, ISO 4217 (default: operator's)")
    invite: str | None = Field(None, max_length=40,
                               description="Another traveller's invite code (邀请码)")


class UserOut(BaseModel):
    id: int
    email: str | None
    phone: str | None
    role: str
    language: str
    currency: str


class ProfileIn(BaseModel):
    language: Literal["en", "zh-CN"] | None = None
    currency: str | None = Field(None, description="ISO 4217 home currency")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class ResetRequestIn(BaseModel):
    login: str = Field(..., description="The e-mail or phone number of the account")


class ResetConfirmIn(BaseModel):
    login: str
    code: str = Field(..., min_length=8, max_length=8, description="The 8-digit code sent")
    new_password: str = Field(..., min_length=8, max_length=256)


class BindIn(BaseModel):
    identifier: str = Field(..., description="ICCID (printed on the card) or the phone number")
    secret: str = Field(..., description="The secret printed on the card under the scratch panel")


class MoneyOut(BaseModel):
    amount: int = Field(..., description="Integer minor units (fen, cents; yen has none)")
    currency: str
    display: str = Field(..., description="The amount as text, e.g. 100.50")


class BalanceOut(BaseModel):
    currency: str
    balance: int
    available: int
    display: str


class BucketUnitOut(BaseModel):
    total: int
    remaining: int


class BucketOut(BaseModel):
    id: int
    plan_id: int
    plan_code: str | None = None
    plan_name: str | None = None
    zone: str
    valid_from: datetime | None
    expires_at: datetime | None = Field(None, description="None until a first-use plan starts")
    units: dict[str, BucketUnitOut] = Field(..., description="data (bytes), voice (s), sms")
    group_id: int | None = Field(None, description="Bought for this group of lines: every "
                                                   "line in it draws on it")


class LineOut(BaseModel):
    id: int
    iccid: str
    msisdn: str | None
    kind: Literal["sim", "esim"]
    status: str
    currency: str
    home_country: str | None
    auto_renew: bool
    valid_until: datetime | None
    activation_code: str | None = Field(None, description="LPA:1$<SM-DP+>$<matching id>")


class LineDetailOut(LineOut):
    balances: list[BalanceOut]
    buckets: list[BucketOut]


class LinePatchIn(BaseModel):
    auto_renew: bool


class QuoteLineOut(BaseModel):
    kind: Literal["list_price", "discount", "fee"]
    name: str = Field(..., description="list_price, fee, or what grants a discount")
    amount: int = Field(..., description="Signed minor units: a discount is negative")
    ref: str | None = Field(None, description="What grants a discount: campaign:<id>, or "
                                               "points (null on other lines)")


class QuoteCreditOut(BaseModel):
    kind: Literal["bonus", "cashback"] = Field(
        ..., description="bonus: credited with the order; cashback: credited once the order "
                         "is past its refund window (TOPUP_CASHBACK_AFTER_DAYS)")
    name: str = Field(..., description="The campaign that grants it")
    amount: int = Field(..., description="Minor units credited to the wallet on top")
    ref: str = Field(..., description="campaign:<id>")


class PriceQuoteOut(BaseModel):
    """The price service's quote (``catalog.quotes.Quote.to_json``)."""

    v: int = Field(..., description="Version of this form")
    currency: str
    item: Literal["plan", "topup"]
    plan_id: int | None = None
    plan_code: str | None = None
    channel: str
    at: str = Field(..., description="The moment priced, ISO 8601 UTC")
    code: str | None = Field(None, description="The promo code applied")
    lines: list[QuoteLineOut] = Field(..., description="List price, discounts, fee, in order")
    subtotal: int = Field(..., description="List price less discounts: what is bought")
    fee: int
    total: int = Field(..., description="The sum of the lines: what the payer pays")
    credits: list[QuoteCreditOut] = Field(
        default_factory=list, description="Credited on top of what is bought (a bonus, "
                                          "cashback)")
    points: int = Field(0, description="Loyalty points the `points` discount line spends")


class PlanOut(BaseModel):
    id: int
    code: str
    name: str
    name_en: str
    name_zh: str
    zone: str
    countries: list[str]
    kind: str
    data_bytes: int
    voice_seconds: int
    sms_count: int
    validity_days: int
    validity_start: Literal["purchase", "first_use"]
    renew_on: Literal["expiry", "data_out"]
    prices: dict[str, int] = Field(..., description="Minor units per ISO 4217 currency")
    quote: PriceQuoteOut | None = Field(
        None, description="The price now in the asked currency (with ?currency=)")


class OrderIn(BaseModel):
    line_id: DbId
    kind: Literal["topup", "plan"]
    method: str = Field(..., description="wallet (plans), or a configured payment provider")
    amount: Amount | None = Field(None, description="Top-ups: integer minor units")
    currency: str | None = Field(None, description="Default: the line's currency")
    plan_id: DbId | None = Field(None, description="Plans: the plan to buy or renew")
    confirm_duplicate: bool = Field(
        False, description="Set after a duplicate_suspected answer to really order again")
    credit_currency: str | None = Field(
        None, description="Top-ups: credit this wallet currency, paying in `currency` at the "
                          "operator's rate, fixed on the order")
    group_id: DbId | None = Field(
        None, description="Plans: buy it for this group of lines (`line_id` must be in it); "
                          "every line in the group draws on it")
    code: str | None = Field(None, max_length=40,
                             description="A promo code (any case; spaces and dashes ignored)")
    points: int = Field(0, ge=0, le=10**9, description="Loyalty points to spend as part "
                        "payment (at most what the traveller has and the programme's share)")


class QuoteOut(BaseModel):
    amount: int
    fee: int
    total: int
    currency: str
    credit_currency: str | None = None
    credit_amount: int | None = None
    fx_rate: str | None = None
    display: dict[str, str] = Field(..., description="amount, fee and total as text")
    quote: PriceQuoteOut = Field(..., description="Every line of the price, as the order "
                                                  "would store it")


class ManualCreditIn(BaseModel):
    amount: Amount = Field(..., description="Integer minor units")
    currency: str | None = None
    reason: str = Field(..., min_length=3, max_length=500)
    confirm_duplicate: bool = False


class OrderOut(BaseModel):
    id: int
    line_id: int
    kind: str
    plan_id: int | None
    amount: int
    fee: int = Field(..., description="Charged on top of the amount by the channel or method")
    total: int = Field(..., description="What the payer pays: amount + fee")
    currency: str
    display: str
    credit_currency: str | None = None
    credit_amount: int | None = Field(None, description="What the wallet receives, converted")
    fx_rate: str | None = None
    method: str
    channel: str
    state: str
    renewal: bool
    next_action: dict[str, Any] | None
    created_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    group_id: int | None = Field(None, description="The group of lines the plan is shared by")
    quote: PriceQuoteOut | None = Field(
        None, description="The price quote the order was confirmed with (none on old orders)")


class UsageIn(BaseModel):
    record_id: str = Field(..., min_length=1, max_length=120,
                           description="The network's id of this record: reporting it twice "
                                       "charges once")
    line: str = Field(..., description="ICCID, MSISDN or IMSI of the line")
    unit: Literal["data", "voice", "sms"]
    quantity: int = Field(..., gt=0, description="bytes, seconds or messages")
    country: str = Field(..., min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    occurred_at: UtcDatetime = Field(
        ..., description="With a UTC offset, e.g. 2026-11-22T08:00:00Z")


class UsageOut(BaseModel):
    record_id: str
    line_id: int
    unit: str
    quantity: int
    country: str
    occurred_at: datetime
    from_buckets: int
    from_money: int
    money_charged: int
    currency: str | None
    uncovered: int


class TransferOut(BaseModel):
    id: int
    at: datetime
    code: str
    unit: str
    amount: int = Field(..., description="Positive: into the line; negative: out of it")
    kind: str
    ref: str | None


class Page(BaseModel):
    items: list[Any]
    next_cursor: int | None = Field(None, description="Pass as ?before= for the next page")


class FreezeIn(BaseModel):
    reason: str = Field(..., min_length=3, max_length=500)


class StaffIn(BaseModel):
    email: str
    password: str = Field(..., min_length=8)
    role: Literal["admin", "support", "finance", "agent", "terminal", "network"]


# --- groups of lines sharing plans (api/groups.py) -------------------------------------------

Cap = Annotated[DbCount | None, Field(description="Bytes of the group's data this line may "
                                                  "draw; null: no cap")]


class GroupIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=60)


class MemberIn(BaseModel):
    line_id: DbId
    cap_bytes: Cap = None


class CapIn(BaseModel):
    cap_bytes: Cap


class GroupMemberOut(BaseModel):
    line_id: int
    iccid: str
    msisdn: str | None
    cap_bytes: int | None
    used_bytes: int = Field(..., description="Data drawn from the group's running plans")
    held_bytes: int = Field(..., description="Data set aside now by open connections")
    member: bool = Field(..., description="False: left the group, listed for what it used")


class GroupOut(BaseModel):
    id: int
    name: str
    created_at: datetime
    total_bytes: int = Field(..., description="Data of the group's running plans")
    remaining_bytes: int
    buckets: list[BucketOut]
    members: list[GroupMemberOut]
