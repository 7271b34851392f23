"""How campaigns change what an order costs: deterministic stacking, exact in minor units.

The order is always the same:

1. **plan discounts**, item by item: each plan gets the one discount campaign that takes most
   off it (ties: the older campaign);
2. **spend-and-save** (满减): the one campaign that saves most on what the items in its scope
   cost after step 1;
3. **the promo code**, on what its items cost after step 2 (one code per order);
4. **points**, as part payment of what is left, up to the programme's share.

A discount over several items (steps 2 to 4) is shared by them in proportion to what each
still costs (``apportion``), so the shares add up exactly and no item goes below zero. A
campaign that cannot give its whole benefit to an order, because its uses or budget are spent,
gives none of it. Then, on what is paid: the **top-up bonus** (充值送) and **cashback**
(返现) each the one best campaign, and the points the payment earns.

Everything here is pure: the callers read the campaigns and what is left of their limits, and
book what the answer says.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from topup.promotions.apportion import apportion, percent_of
from topup.promotions.rules import Allowance, Campaign, Context, Item, Points

UNLIMITED = Allowance()


@dataclass(frozen=True)
class Adjustment:
    """One named reduction of the price: ``amount`` minor units in all, ``shares`` per item
    (in the order of the items)."""

    kind: str  # discount | spend_save | code | points
    campaign_id: int | None
    name: str
    amount: int
    shares: tuple[int, ...]


@dataclass(frozen=True)
class Credit:
    """A benefit credited rather than taken off the price: a top-up bonus (at payment) or
    cashback (after the refund window)."""

    kind: str  # bonus | cashback
    campaign_id: int
    name: str
    amount: int


@dataclass(frozen=True)
class Priced:
    """The engine's answer: the list price, each adjustment in stacking order, what each
    item and the whole order cost in the end, and the credits and points it brings."""

    items: tuple[Item, ...]
    adjustments: tuple[Adjustment, ...]
    costs: tuple[int, ...]
    points_used: int = 0
    points_earned: int = 0
    credits: tuple[Credit, ...] = ()
    code_refused: str | None = None  # why the code given does not apply

    @property
    def list_total(self) -> int:
        return sum(i.amount for i in self.items)

    @property
    def total(self) -> int:
        return sum(self.costs)


def price_items(items: Sequence[Item], ctx: Context, campaigns: Iterable[Campaign],
                allowances: Mapping[int, Allowance] | None = None, *,
                code: Campaign | None = None, points: Points | None = None,
                points_wanted: int = 0) -> Priced:
    """The price of ``items`` under ``campaigns`` (and ``code``, the campaign a promo code
    names), ``points_wanted`` of the customer's points spent if ``points`` allows;
    ``allowances`` holds what is left of each campaign's limits (absent: unlimited)."""
    left = dict(allowances or {})
    live = [c for c in campaigns if c.live(ctx)]
    costs = [i.amount for i in items]
    adjustments = _plan_discounts(items, costs, [c for c in live if c.kind == "discount"],
                                  left)
    saved = _best_saving(items, costs, [c for c in live if c.kind == "spend_save"], left)
    if saved is not None:
        adjustments.append(_take(costs, saved))
    refused = None
    if code is not None:
        taken = _code(items, costs, code, ctx, left.get(code.id, UNLIMITED))
        if isinstance(taken, str):
            refused = taken
        else:
            adjustments.append(_take(costs, taken))
    used = 0
    if points is not None and points_wanted > 0:
        used = min(points_wanted, percent_of(sum(costs), points.max_share_bp) // points.worth)
        if used:
            adjustments.append(_take(costs, _Share("points", None, "points", used * points.worth,
                                                   list(range(len(items))))))
    paid = sum(costs)
    credits = [c for c in (_best_credit(items, costs, live, left, "bonus"),
                           _best_credit(items, costs, live, left, "cashback")) if c]
    return Priced(tuple(items), tuple(adjustments), tuple(costs), used,
                  points.earned(paid) if points else 0, tuple(credits), refused)


@dataclass(frozen=True)
class _Share:
    """A reduction of ``amount`` over the items at ``among`` (indexes), not yet shared."""

    kind: str
    campaign_id: int | None
    name: str
    amount: int
    among: list[int]


def _take(costs: list[int], share: _Share) -> Adjustment:
    parts = apportion(share.amount, [costs[i] for i in share.among])
    shares = [0] * len(costs)
    for i, part in zip(share.among, parts, strict=True):
        shares[i] = part
        costs[i] -= part
    return Adjustment(share.kind, share.campaign_id, share.name, share.amount, tuple(shares))


def discount_off(campaign: Campaign, item: Item) -> int:
    """What a discount campaign takes off one plan (0 when it does not touch it)."""
    if item.is_topup or not campaign.scope.covers(item):
        return 0
    off = 0
    if campaign.percent_bp is not None:
        off = percent_of(item.amount, campaign.percent_bp)
    fixed = campaign.prices.get(item.plan_id) if item.plan_id is not None else None
    if fixed is not None and fixed < item.amount:
        off = max(off, item.amount - fixed)
    return off


def _plan_discounts(items: Sequence[Item], costs: list[int], offers: list[Campaign],
                    left: Mapping[int, Allowance]) -> list[Adjustment]:
    """Step 1: each plan's best discount; a campaign whose limits cannot carry all it would
    give this order is left out and the choice made again without it."""
    offers = sorted(offers, key=lambda c: c.id)
    while True:
        chosen: dict[int, Campaign] = {}
        for i, item in enumerate(items):
            best = max(offers, key=lambda c: (discount_off(c, item), -c.id), default=None)
            if best is not None and discount_off(best, item) > 0:
                chosen[i] = best
        given: dict[int, int] = {}
        for i, c in chosen.items():
            given[c.id] = given.get(c.id, 0) + discount_off(c, items[i])
        over = {cid for cid, amount in given.items()
                if not left.get(cid, UNLIMITED).allows(amount)}
        if not over:
            break
        offers = [c for c in offers if c.id not in over]
    out = []
    for c in offers:
        mine = [i for i, chosen_c in chosen.items() if chosen_c.id == c.id]
        if not mine:
            continue
        shares = [0] * len(items)
        for i in mine:
            shares[i] = discount_off(c, items[i])
            costs[i] -= shares[i]
        out.append(Adjustment("discount", c.id, c.name, sum(shares), tuple(shares)))
    return out


def _in_scope(items: Sequence[Item], costs: list[int], campaign: Campaign) -> list[int]:
    return [i for i, item in enumerate(items) if campaign.scope.covers(item) and costs[i] > 0]


def spend_save_off(campaign: Campaign, spend: int) -> int:
    """What a spend-and-save campaign saves on ``spend`` in its scope."""
    reached = [t for t in campaign.tiers if 0 < t[0] <= spend]
    if not reached:
        return 0
    threshold, save = reached[-1]
    times = spend // threshold if campaign.repeat else 1
    return min(campaign.capped(save * times), spend)


def _best_saving(items: Sequence[Item], costs: list[int], offers: list[Campaign],
                 left: Mapping[int, Allowance]) -> _Share | None:
    best: _Share | None = None
    for c in sorted(offers, key=lambda c: c.id):
        among = _in_scope(items, costs, c)
        off = spend_save_off(c, sum(costs[i] for i in among))
        if off > 0 and left.get(c.id, UNLIMITED).allows(off) and (
                best is None or off > best.amount):
            best = _Share("spend_save", c.id, c.name, off, among)
    return best


def _code(items: Sequence[Item], costs: list[int], code: Campaign, ctx: Context,
          left: Allowance) -> _Share | str:
    """Step 3, or why the code does not apply: ``not_live`` (outside its window, currency,
    channel or customers), ``no_items`` (nothing in the order is in its scope),
    ``min_spend``, ``used_up`` (its uses) or ``budget``."""
    if code.kind != "code" or not code.live(ctx):
        return "not_live"
    among = _in_scope(items, costs, code)
    spend = sum(costs[i] for i in among)
    if not among:
        return "no_items"
    if spend < code.min_spend:
        return "min_spend"
    off = percent_of(spend, code.percent_bp) if code.percent_bp is not None else (
        code.amount_off or 0)
    off = min(code.capped(off), spend)
    if left.uses is not None and left.uses <= 0:
        return "used_up"
    if not left.allows(off):
        return "budget"
    return _Share("code", code.id, code.name, off, among)


def credit_of(campaign: Campaign, paid: int) -> int:
    """A bonus's or a cashback's credit on ``paid`` (what the items in its scope cost)."""
    reached = [t for t in campaign.tiers if 0 < t[0] <= paid]
    amount = reached[-1][1] if reached else 0
    if campaign.percent_bp is not None:
        amount = max(amount, percent_of(paid, campaign.percent_bp))
    return campaign.capped(amount) if paid > 0 else 0


def _best_credit(items: Sequence[Item], costs: list[int], live: list[Campaign],
                 left: Mapping[int, Allowance], kind: str) -> Credit | None:
    best: Credit | None = None
    for c in sorted((c for c in live if c.kind == kind), key=lambda c: c.id):
        amount = credit_of(c, sum(costs[i] for i in _in_scope(items, costs, c)))
        if amount > 0 and left.get(c.id, UNLIMITED).allows(amount) and (
                best is None or amount > best.amount):
            best = Credit(kind, c.id, c.name, amount)
    return best
