"""What a campaign is: its kind, window, scope, rule and limits, as plain values.

The pricing engine (``engine``) reads campaigns in this form only; where they are kept and how
staff edit them is another module's business. Every amount is integer minor units of the
campaign's ``currency``; a campaign whose rule is all percentages (a percent discount, a percent
code, cashback) may leave ``currency`` empty and then applies in every currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType

KINDS = ("discount", "spend_save", "code", "bonus", "cashback")
"""Campaign kinds that change what an order costs or credits. Points and referrals are
programmes with rules of their own (``Points``, ``engine``'s callers)."""


@dataclass(frozen=True)
class Item:
    """One thing an order buys: a plan (``plan_id``, the ``zone`` it covers) or a top-up of
    the wallet (``plan_id`` None). ``amount`` is its list price in the order's currency."""

    key: str
    amount: int
    plan_id: int | None = None
    zone: str | None = None

    @property
    def is_topup(self) -> bool:
        return self.plan_id is None


@dataclass(frozen=True)
class Context:
    """Who buys, where and when: what a campaign's scope is checked against."""

    at: datetime
    currency: str
    channel: str
    customer_id: int | None = None
    first_purchase: bool = False
    agent_id: int | None = None


@dataclass(frozen=True)
class Scope:
    """Which orders and items a campaign touches; an empty set means any. ``zones`` are
    zone codes (a country or a region) a plan must cover one of; ``topups`` says whether
    wallet top-ups count (spend-and-save, codes and bonuses may take them, plan discounts
    never do)."""

    plans: frozenset[int] = frozenset()
    zones: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    agents: frozenset[int] = frozenset()
    first_purchase_only: bool = False
    topups: bool = False

    def admits(self, ctx: Context) -> bool:
        """Whether an order in ``ctx`` may use the campaign at all."""
        if self.channels and ctx.channel not in self.channels:
            return False
        if self.agents and ctx.agent_id not in self.agents:
            return False
        return not self.first_purchase_only or ctx.first_purchase

    def covers(self, item: Item) -> bool:
        """Whether ``item`` is one the campaign's rule applies to."""
        if item.is_topup:
            return self.topups
        if self.plans and item.plan_id not in self.plans:
            return False
        return not self.zones or item.zone in self.zones


def _frozen(prices: Mapping[int, int]) -> Mapping[int, int]:
    return MappingProxyType(dict(prices))


@dataclass(frozen=True)
class Campaign:
    """A campaign as the engine sees it.

    - ``discount``: each plan in scope at ``percent_bp`` off, or at its fixed price in
      ``prices`` (plan id → minor units) when that is lower than its list price;
    - ``spend_save`` (满减): the highest of ``tiers`` (spend, save) the order's spend in scope
      reaches; with ``repeat``, saved again for every further multiple of that spend; at
      most ``cap``;
    - ``code``: a promo code's ``percent_bp`` or ``amount_off`` of the spend in scope, once
      it reaches ``min_spend``; at most ``cap``;
    - ``bonus`` (充值送): extra wallet credit, the highest of ``tiers`` (top-up, bonus) the
      top-ups in scope reach, or ``percent_bp`` of them; at most ``cap``;
    - ``cashback`` (返现): ``percent_bp`` of what was paid for items in scope, credited once
      the refund window has closed; at most ``cap``.
    """

    id: int
    kind: str
    name: str
    starts_at: datetime
    ends_at: datetime
    scope: Scope = field(default_factory=Scope)
    currency: str | None = None
    percent_bp: int | None = None
    amount_off: int | None = None
    prices: Mapping[int, int] = field(default_factory=dict)
    tiers: tuple[tuple[int, int], ...] = ()
    repeat: bool = False
    cap: int | None = None
    min_spend: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "prices", _frozen(self.prices))
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers)))

    def live(self, ctx: Context) -> bool:
        """In its window, in the order's currency (or in every one) and open to the order."""
        return (self.starts_at <= ctx.at < self.ends_at
                and (self.currency is None or self.currency == ctx.currency)
                and self.scope.admits(ctx))

    def capped(self, amount: int) -> int:
        return amount if self.cap is None else min(amount, self.cap)


@dataclass(frozen=True)
class Allowance:
    """What is left of a campaign's limits for this order: uses (of the campaign, or of the
    code, by anyone and by this customer, whichever is least) and budget, in the order's
    currency. None is unlimited."""

    uses: int | None = None
    budget: int | None = None

    def allows(self, amount: int) -> bool:
        """Whether one more use worth ``amount`` fits (a campaign that cannot give its whole
        benefit to an order gives none of it: no half-discounted price)."""
        return (self.uses is None or self.uses > 0) and (
            self.budget is None or amount <= self.budget)


@dataclass(frozen=True)
class Points:
    """A points (积分) programme: ``earn_per`` minor units spent earn one point; ``worth``
    minor units is what one point pays when redeemed; at most ``max_share_bp`` of what an
    order still costs may be paid with points."""

    earn_per: int
    worth: int
    max_share_bp: int = 10_000

    def earned(self, paid: int) -> int:
        return paid // self.earn_per if self.earn_per > 0 else 0
