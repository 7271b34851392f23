"""Campaigns and promo codes: kept, checked, read for pricing, and redeemed within limits.

Staff define a campaign (``CampaignSpec``, checked whole before anything is written) and, for
the ``code`` kind, its codes: one shared code, or a batch of single-use ones. Pricing reads the
campaigns live at a moment (``live``) and what is left of their limits for a customer
(``allowances``); the engine decides. When an order is made at a quoted price its benefits are
*held* (``hold``): under the campaign's row lock (PostgreSQL; SQLite's writer is alone), each
campaign's counters are raised only if its total limit, budget, the code's limit and the
customer's limit still allow it, otherwise nothing is held and ``PromotionUnavailable`` asks for
a new quote. A paid order's holds are *applied*; a failed, cancelled or expired one's are
*released* (counters given back); a refund *reverses* them (counters given back; a code only
when its campaign says so).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from topup.db.uow import UnitOfWork
from topup.money import MAX_AMOUNT, check_currency
from topup.promotions.engine import Priced
from topup.promotions.errors import (
    CampaignNotFound,
    InvalidCampaign,
    PromoCodeNotFound,
    PromotionUnavailable,
)
from topup.promotions.rules import Allowance, Campaign, Context, Scope
from topup.promotions.tables import (
    CAMPAIGN_KINDS,
    CAMPAIGN_STATES,
    campaigns,
    promo_codes,
    redemptions,
)

SALE_CHANNELS = ("web", "api", "ussd", "ivr", "sms", "pos", "terminal", "kiosk", "autorenew",
                 "autotopup", "admin")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed on phones
MAX_TIERS = 10
MAX_BATCH = 10_000


@dataclass(frozen=True)
class CampaignSpec:
    """A campaign as staff define it (see ``rules.Campaign`` for what each kind uses)."""

    kind: str
    name: str
    starts_at: datetime
    ends_at: datetime
    currency: str | None = None
    percent_bp: int | None = None
    amount_off: int | None = None
    prices: Mapping[int, int] = field(default_factory=dict)
    tiers: Sequence[tuple[int, int]] = ()
    repeat: bool = False
    cap: int | None = None
    min_spend: int = 0
    scope: Scope = field(default_factory=Scope)
    total_limit: int | None = None
    per_customer_limit: int | None = None
    budget: int | None = None
    frees_code_on_refund: bool = False


@dataclass(frozen=True)
class Kept:
    """A stored campaign: its rule as the engine sees it, its state, limits and counters."""

    campaign: Campaign
    state: str
    total_limit: int | None
    per_customer_limit: int | None
    budget: int | None
    uses: int
    spent: int
    frees_code_on_refund: bool


def create_campaign(uow: UnitOfWork, spec: CampaignSpec, actor_id: int | None = None) -> int:
    """Check ``spec`` whole and keep it, active; returns its id."""
    rule, scope = _checked(spec)
    currency = check_currency(spec.currency) if spec.currency else None
    return int(uow.conn.execute(insert(campaigns).values(
        kind=spec.kind, name=spec.name.strip(), state="active", starts_at=spec.starts_at,
        ends_at=spec.ends_at, currency=currency, rule=rule, scope=scope,
        total_limit=spec.total_limit, per_customer_limit=spec.per_customer_limit,
        budget=spec.budget, uses=0, spent=0, frees_code_on_refund=spec.frees_code_on_refund,
        created_by=actor_id, created_at=uow.now, updated_at=uow.now,
    ).returning(campaigns.c.id)).scalar_one())


def set_state(uow: UnitOfWork, campaign_id: int, state: str) -> None:
    """Pause, resume (``active``) or end a campaign; an ended one stays ended."""
    if state not in CAMPAIGN_STATES:
        raise InvalidCampaign(f"state is one of {', '.join(CAMPAIGN_STATES)}", field="state")
    kept = get(uow, campaign_id)
    if kept.state == "ended" and state != "ended":
        raise InvalidCampaign("an ended campaign cannot start again", field="state")
    uow.conn.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(
        state=state, updated_at=uow.now))


def get(uow: UnitOfWork, campaign_id: int) -> Kept:
    row = uow.conn.execute(select(campaigns).where(campaigns.c.id == campaign_id)).first()
    if row is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return _kept(row)


def listed(uow: UnitOfWork, *, state: str | None = None, limit: int = 200) -> list[Kept]:
    """Campaigns, newest first."""
    query = select(campaigns).order_by(campaigns.c.id.desc()).limit(limit)
    if state is not None:
        query = query.where(campaigns.c.state == state)
    return [_kept(r) for r in uow.conn.execute(query)]


def live(uow: UnitOfWork, at: datetime) -> list[Kept]:
    """Active campaigns whose window holds ``at`` (codes' campaigns included: a code
    reaches its campaign through ``find_code``, never by being live)."""
    rows = uow.conn.execute(select(campaigns).where(
        campaigns.c.state == "active", campaigns.c.starts_at <= at, campaigns.c.ends_at > at)
        .order_by(campaigns.c.id))
    return [_kept(r) for r in rows]


def find_code(uow: UnitOfWork, text: str) -> tuple[Kept, Any]:
    """The campaign of promo code ``text`` (any case, spaces and dashes ignored) and the
    code's row; ``PromoCodeNotFound`` when there is none or its campaign is not a code's."""
    code = normal_code(text)
    row = uow.conn.execute(select(promo_codes).where(promo_codes.c.code == code)).first()
    if row is None:
        raise PromoCodeNotFound(field="code")
    kept = get(uow, int(row.campaign_id))
    if kept.campaign.kind != "code" or kept.state != "active":
        raise PromoCodeNotFound(field="code")
    return kept, row


def code_id(uow: UnitOfWork, text: str | None) -> int | None:
    """The id of promo code ``text`` (None for none or no such code)."""
    if not text:
        return None
    found = uow.conn.execute(select(promo_codes.c.id).where(
        promo_codes.c.code == normal_code(text))).scalar()
    return int(found) if found is not None else None


def normal_code(text: str) -> str:
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def add_code(uow: UnitOfWork, campaign_id: int, code: str, max_uses: int | None = None) -> str:
    """One shared code of a ``code`` campaign (``max_uses``: None for the campaign's limits
    only)."""
    _code_campaign(uow, campaign_id)
    text = normal_code(code)
    if not 4 <= len(text) <= 40:
        raise InvalidCampaign("a code has 4 to 40 letters and digits", field="code")
    _check_limit("max_uses", max_uses)
    if uow.conn.execute(select(promo_codes.c.id).where(promo_codes.c.code == text)).first():
        raise InvalidCampaign("that code exists already", field="code")
    uow.conn.execute(insert(promo_codes).values(campaign_id=campaign_id, code=text,
                                                max_uses=max_uses, uses=0, created_at=uow.now))
    return text


def make_codes(uow: UnitOfWork, campaign_id: int, count: int, prefix: str = "") -> list[str]:
    """``count`` single-use codes of a ``code`` campaign: ``prefix`` then ten random
    characters of ``CODE_ALPHABET`` (50 bits: not guessable within any rate limit)."""
    _code_campaign(uow, campaign_id)
    head = normal_code(prefix)
    if not 1 <= count <= MAX_BATCH or len(head) > 12:
        raise InvalidCampaign(f"1 to {MAX_BATCH} codes, a prefix of at most 12 letters",
                              field="count")
    made: set[str] = set()
    while len(made) < count:
        made.add(head + "".join(secrets.choice(CODE_ALPHABET) for _ in range(10)))
    taken = set(uow.conn.execute(select(promo_codes.c.code).where(
        promo_codes.c.code.in_(sorted(made)))).scalars())
    codes = sorted(made - taken)
    uow.conn.execute(insert(promo_codes), [
        {"campaign_id": campaign_id, "code": c, "max_uses": 1, "uses": 0,
         "created_at": uow.now} for c in codes])
    return codes


def allowances(uow: UnitOfWork, kept: Iterable[Kept], customer_id: int | None,
               code: Any = None) -> dict[int, Allowance]:
    """What is left of each campaign's limits for ``customer_id`` (and of ``code``'s own
    limit, for its campaign). A campaign limited per customer has nothing left for an
    order nobody is signed in to (a line alone cannot be told from its next holder)."""
    out: dict[int, Allowance] = {}
    for k in kept:
        uses = None if k.total_limit is None else k.total_limit - k.uses
        if k.per_customer_limit is not None:
            # a limit per customer needs a customer: nobody known, nothing left
            left = 0 if customer_id is None else (
                k.per_customer_limit - _customer_uses(uow, k.campaign.id, customer_id))
            uses = left if uses is None else min(uses, left)
        if code is not None and int(code.campaign_id) == k.campaign.id and code.max_uses:
            left = int(code.max_uses) - int(code.uses)
            uses = left if uses is None else min(uses, left)
        budget = None if k.budget is None else k.budget - k.spent
        out[k.campaign.id] = Allowance(uses, budget)
    return out


def hold(uow: UnitOfWork, order_id: int, customer_id: int | None, currency: str,
         benefits: Mapping[int, int], code_id: int | None = None) -> None:
    """Hold ``benefits`` (campaign id → minor units it gives order ``order_id``, in
    ``currency``) against their campaigns' limits, or raise ``PromotionUnavailable``, having
    kept none of it, when one ran out since the price was quoted."""
    with uow.savepoint():  # a refusal keeps none of the counters raised before it
        for campaign_id, amount in sorted(benefits.items()):
            _hold_one(uow, order_id, customer_id, currency, campaign_id, amount, code_id)


def _hold_one(uow: UnitOfWork, order_id: int, customer_id: int | None, currency: str,
              campaign_id: int, amount: int, code_id: int | None) -> None:
    kept = _locked(uow, campaign_id)
    if kept.per_customer_limit is not None and (
            customer_id is None
            or _customer_uses(uow, campaign_id, customer_id) >= kept.per_customer_limit):
        raise PromotionUnavailable(campaign=campaign_id, reason="customer_limit")
    raised = uow.conn.execute(update(campaigns).where(
        campaigns.c.id == campaign_id,
        (campaigns.c.total_limit.is_(None)) | (campaigns.c.uses < campaigns.c.total_limit),
        (campaigns.c.budget.is_(None)) | (campaigns.c.spent + amount <= campaigns.c.budget),
    ).values(uses=campaigns.c.uses + 1, spent=campaigns.c.spent + amount,
             updated_at=uow.now)).rowcount
    if raised != 1:
        raise PromotionUnavailable(campaign=campaign_id, reason="limit")
    this_code = code_id if kept.campaign.kind == "code" else None
    if this_code is not None and uow.conn.execute(update(promo_codes).where(
            promo_codes.c.id == this_code,
            (promo_codes.c.max_uses.is_(None)) | (promo_codes.c.uses < promo_codes.c.max_uses),
    ).values(uses=promo_codes.c.uses + 1)).rowcount != 1:
        raise PromotionUnavailable(campaign=campaign_id, reason="code_used_up")
    uow.conn.execute(insert(redemptions).values(
        campaign_id=campaign_id, code_id=this_code, order_id=order_id,
        customer_id=customer_id, amount=amount, currency=currency,
        state="held", created_at=uow.now, updated_at=uow.now))


def settle(uow: UnitOfWork, order_id: int, outcome: str) -> None:
    """The order's held redemptions ``applied`` (paid), ``released`` (failed, cancelled,
    expired) or, applied ones, ``reversed`` (refunded); the last two give their counters
    back (a single-use code only when its campaign frees codes on refund)."""
    source = ("applied", "credited") if outcome == "reversed" else ("held",)
    rows = uow.conn.execute(select(redemptions).where(
        redemptions.c.order_id == order_id, redemptions.c.state.in_(source))
        .order_by(redemptions.c.campaign_id)).all()
    for r in rows:
        uow.conn.execute(update(redemptions).where(redemptions.c.id == r.id).values(
            state=outcome, updated_at=uow.now))
        if outcome == "applied":
            continue
        kept = _locked(uow, int(r.campaign_id))
        uow.conn.execute(update(campaigns).where(campaigns.c.id == r.campaign_id).values(
            uses=campaigns.c.uses - 1, spent=campaigns.c.spent - r.amount, updated_at=uow.now))
        if r.code_id is not None and (outcome == "released" or kept.frees_code_on_refund):
            uow.conn.execute(update(promo_codes).where(promo_codes.c.id == r.code_id).values(
                uses=promo_codes.c.uses - 1))


def context_first_purchase(uow: UnitOfWork, customer_id: int | None) -> bool:
    """Whether the customer has no paid order yet (a campaign for first purchases)."""
    if customer_id is None:
        return False
    from topup.orders.tables import orders  # the orders area reads promotions, not back

    paid = uow.conn.execute(select(func.count()).select_from(orders).where(
        orders.c.customer_id == customer_id, orders.c.paid_at.is_not(None))).scalar_one()
    return int(paid) == 0


def engine_context(at: datetime, currency: str, channel: str, customer_id: int | None,
                   first_purchase: bool, agent_id: int | None = None) -> Context:
    return Context(at=at, currency=currency, channel=channel, customer_id=customer_id,
                   first_purchase=first_purchase, agent_id=agent_id)


# --- inside ---------------------------------------------------------------------------------

def benefits(priced: Priced) -> dict[int, int]:
    """What each campaign gives in the engine's answer ``priced``, by campaign id."""
    given: dict[int, int] = {}
    for a in priced.adjustments:
        if a.campaign_id is not None:
            given[a.campaign_id] = given.get(a.campaign_id, 0) + a.amount
    for c in priced.credits:
        given[c.campaign_id] = given.get(c.campaign_id, 0) + c.amount
    return given


def _customer_uses(uow: UnitOfWork, campaign_id: int, customer_id: int | None) -> int:
    if customer_id is None:
        return 0
    return int(uow.conn.execute(select(func.count()).select_from(redemptions).where(
        redemptions.c.campaign_id == campaign_id, redemptions.c.customer_id == customer_id,
        redemptions.c.state.in_(("held", "applied", "credited")))).scalar_one())


def _locked(uow: UnitOfWork, campaign_id: int) -> Kept:
    query = select(campaigns).where(campaigns.c.id == campaign_id)
    if uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    if row is None:
        raise CampaignNotFound(f"no campaign {campaign_id}")
    return _kept(row)


def _code_campaign(uow: UnitOfWork, campaign_id: int) -> Kept:
    kept = get(uow, campaign_id)
    if kept.campaign.kind != "code":
        raise InvalidCampaign("only a code campaign has codes", field="campaign")
    return kept


def _kept(row: Any) -> Kept:
    rule, scope = dict(row.rule or {}), dict(row.scope or {})
    campaign = Campaign(
        id=int(row.id), kind=str(row.kind), name=str(row.name), starts_at=row.starts_at,
        ends_at=row.ends_at, currency=row.currency,
        scope=Scope(plans=frozenset(scope.get("plans", ())),
                    zones=frozenset(scope.get("zones", ())),
                    channels=frozenset(scope.get("channels", ())),
                    agents=frozenset(scope.get("agents", ())),
                    first_purchase_only=bool(scope.get("first_purchase_only", False)),
                    topups=bool(scope.get("topups", False))),
        percent_bp=rule.get("percent_bp"), amount_off=rule.get("amount_off"),
        prices={int(k): int(v) for k, v in (rule.get("prices") or {}).items()},
        tiers=tuple((int(a), int(b)) for a, b in rule.get("tiers", ())),
        repeat=bool(rule.get("repeat", False)), cap=rule.get("cap"),
        min_spend=int(rule.get("min_spend", 0)))
    return Kept(campaign, str(row.state), row.total_limit, row.per_customer_limit, row.budget,
                int(row.uses), int(row.spent), bool(row.frees_code_on_refund))


def _check_amount(name: str, value: int | None, *, zero: bool = False) -> None:
    if value is None:
        return
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_AMOUNT:
        raise InvalidCampaign(f"{name} is a whole number of minor units, {low} to {MAX_AMOUNT}",
                              field=name)


def _check_limit(name: str, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or not 1 <= value <= 10**9):
        raise InvalidCampaign(f"{name} is 1 to 1,000,000,000", field=name)


def _checked(spec: CampaignSpec) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rule and scope to keep, or ``InvalidCampaign`` naming the first field at fault."""
    if spec.kind not in CAMPAIGN_KINDS:
        raise InvalidCampaign(f"kind is one of {', '.join(CAMPAIGN_KINDS)}", field="kind")
    if not 1 <= len(spec.name.strip()) <= 120:
        raise InvalidCampaign("a name has 1 to 120 characters", field="name")
    if spec.starts_at.tzinfo is None or spec.ends_at <= spec.starts_at:
        raise InvalidCampaign("a campaign ends after it starts (times with a zone)",
                              field="ends_at")
    if spec.percent_bp is not None and (isinstance(spec.percent_bp, bool)
                                        or not 1 <= spec.percent_bp <= 10_000):
        raise InvalidCampaign("percent_bp is 1 to 10000 (100 = 1 %)", field="percent_bp")
    for name in ("amount_off", "cap", "budget"):
        _check_amount(name, getattr(spec, name))
    _check_amount("min_spend", spec.min_spend, zero=True)
    for name in ("total_limit", "per_customer_limit"):
        _check_limit(name, getattr(spec, name))
    tiers = sorted((int(a), int(b)) for a, b in spec.tiers)
    for threshold, value in tiers:
        _check_amount("tiers", threshold)
        _check_amount("tiers", value)
    if len(tiers) > MAX_TIERS or len({a for a, _ in tiers}) != len(tiers):
        raise InvalidCampaign(f"at most {MAX_TIERS} tiers, each from a different amount",
                              field="tiers")
    for plan, price in spec.prices.items():
        _check_amount("prices", plan)
        _check_amount("prices", price)
    money = spec.amount_off or spec.cap or spec.budget or spec.min_spend or tiers or spec.prices
    if money and not spec.currency:
        raise InvalidCampaign("amounts are in the campaign's currency: name it",
                              field="currency")
    _check_kind(spec, tiers)
    scope = _scope(spec.scope)
    rule = {"percent_bp": spec.percent_bp, "amount_off": spec.amount_off,
            "prices": {str(k): v for k, v in sorted(spec.prices.items())}, "tiers": tiers,
            "repeat": spec.repeat, "cap": spec.cap, "min_spend": spec.min_spend}
    return rule, scope


def _check_kind(spec: CampaignSpec, tiers: list[tuple[int, int]]) -> None:
    need = {
        "discount": (spec.percent_bp is not None or bool(spec.prices),
                     "a discount takes a percentage or sale prices", "percent_bp"),
        "spend_save": (bool(tiers), "spend-and-save needs its tiers", "tiers"),
        "code": ((spec.percent_bp is None) != (spec.amount_off is None),
                 "a code takes a percentage or an amount off, not both", "percent_bp"),
        "bonus": (bool(tiers) or spec.percent_bp is not None,
                  "a top-up bonus needs tiers or a percentage", "tiers"),
        "cashback": (spec.percent_bp is not None, "cashback is a percentage", "percent_bp"),
    }
    ok, message, name = need[spec.kind]
    if not ok:
        raise InvalidCampaign(message, field=name)
    if spec.kind in ("discount", "code") and (spec.percent_bp or 0) > 9_900:
        raise InvalidCampaign("at most 99 % off: an order is paid something",
                              field="percent_bp")
    if spec.kind == "spend_save" and any(save >= spend for spend, save in tiers):
        raise InvalidCampaign("each tier saves less than its spend", field="tiers")
    if spec.kind == "discount" and spec.scope.topups:
        raise InvalidCampaign("plan discounts do not apply to top-ups", field="scope")
    if spec.kind == "bonus" and not spec.scope.topups:
        raise InvalidCampaign("a top-up bonus applies to top-ups", field="scope")


def _scope(scope: Scope) -> dict[str, Any]:
    channels = sorted(scope.channels)
    if any(c not in SALE_CHANNELS for c in channels):
        raise InvalidCampaign(f"channels are among {', '.join(SALE_CHANNELS)}", field="scope")
    zones = sorted(z.strip().upper() for z in scope.zones)
    if any(not z.isalnum() or len(z) > 16 for z in zones):
        raise InvalidCampaign("zones are zone codes", field="scope")
    return {"plans": sorted(int(p) for p in scope.plans), "zones": zones, "channels": channels,
            "agents": sorted(int(a) for a in scope.agents),
            "first_purchase_only": scope.first_purchase_only, "topups": scope.topups}
