"""The pricing engine: campaigns stacked in their fixed order, shares exact to the minor unit.

Worked examples first (each a small order with its expected adjustments), then properties over
random orders, campaigns and codes: nothing below zero, every adjustment shared exactly, the
adjustments explain the whole difference between the list price and the total, and the answer
does not depend on the order the campaigns are given in.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from topup.promotions.apportion import apportion, percent_of
from topup.promotions.engine import price_items
from topup.promotions.rules import Allowance, Campaign, Context, Item, Points, Scope

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
WEEK = (NOW - timedelta(days=1), NOW + timedelta(days=6))
CTX = Context(at=NOW, currency="CNY", channel="portal", customer_id=7)
JAPAN_5GB = Item("plan:1", 100_00, plan_id=1, zone="JP")
ASIA_10GB = Item("plan:2", 180_00, plan_id=2, zone="ASIA")
TOPUP_100 = Item("topup", 100_00)


def campaign(cid: int, kind: str, **rule: object) -> Campaign:
    return Campaign(cid, kind, f"{kind} {cid}", *WEEK, **rule)  # type: ignore[arg-type]


def test_a_flash_sale_takes_its_percent_off_the_plans_in_scope_only() -> None:
    sale = campaign(1, "discount", percent_bp=2000, scope=Scope(plans=frozenset({1})))
    priced = price_items([JAPAN_5GB, ASIA_10GB], CTX, [sale])
    assert [(a.kind, a.amount, a.shares) for a in priced.adjustments] == [
        ("discount", 20_00, (20_00, 0))]
    assert priced.costs == (80_00, 180_00)
    assert priced.total == priced.list_total - 20_00


def test_a_fixed_sale_price_wins_over_a_smaller_percent_and_the_best_discount_is_taken() -> None:
    percent = campaign(1, "discount", percent_bp=1000)
    fixed = campaign(2, "discount", prices={1: 75_00})
    priced = price_items([JAPAN_5GB, ASIA_10GB], CTX, [percent, fixed])
    assert [(a.campaign_id, a.shares) for a in priced.adjustments] == [
        (1, (0, 18_00)), (2, (25_00, 0))]


def test_spend_and_save_uses_the_highest_tier_reached_and_repeats_up_to_its_cap() -> None:
    tiers = ((100_00, 10_00), (200_00, 25_00))
    once = campaign(1, "spend_save", tiers=tiers, scope=Scope(topups=True))
    priced = price_items([JAPAN_5GB, ASIA_10GB], CTX, [once])
    assert priced.adjustments[0].amount == 25_00  # 280 reaches 200 → save 25
    # shared by cost: 100:180 of 25.00 → 8.93 and 16.07 (the odd cent to the larger remainder)
    assert priced.adjustments[0].shares == (8_93, 16_07)
    repeating = campaign(2, "spend_save", tiers=((100_00, 10_00),), repeat=True, cap=25_00,
                         scope=Scope(topups=True))
    assert price_items([TOPUP_100] * 3, CTX, [repeating]).adjustments[0].amount == 25_00


def test_stacking_is_discount_then_spend_save_then_code_then_points() -> None:
    sale = campaign(1, "discount", percent_bp=1000)  # 10 % off plans
    save = campaign(2, "spend_save", tiers=((200_00, 20_00),))
    code = campaign(3, "code", amount_off=5_00, min_spend=100_00)
    points = Points(earn_per=1_00, worth=1, max_share_bp=1000)  # a point is 0.01, ≤ 10 %
    priced = price_items([JAPAN_5GB, ASIA_10GB], CTX, [sale, save], code=code, points=points,
                         points_wanted=10_000)
    assert [(a.kind, a.amount) for a in priced.adjustments] == [
        ("discount", 28_00), ("spend_save", 20_00), ("code", 5_00), ("points", 22_70)]
    assert priced.total == 280_00 - 28_00 - 20_00 - 5_00 - 22_70 == 204_30
    assert priced.points_used == 22_70 and priced.points_earned == 204  # a point per 1.00 paid


def test_a_code_that_does_not_apply_says_why_and_changes_nothing() -> None:
    code = campaign(3, "code", percent_bp=1000, min_spend=500_00)
    priced = price_items([JAPAN_5GB], CTX, [], code=code)
    assert priced.code_refused == "min_spend" and priced.total == 100_00
    used_up = price_items([JAPAN_5GB], CTX, [], code=campaign(4, "code", percent_bp=1000),
                          allowances={4: Allowance(uses=0)})
    assert used_up.code_refused == "used_up"
    late = Campaign(5, "code", "late", NOW - timedelta(days=9), NOW - timedelta(days=2),
                    percent_bp=1000)
    assert price_items([JAPAN_5GB], CTX, [], code=late).code_refused == "not_live"


def test_a_campaign_that_cannot_give_all_it_would_gives_nothing() -> None:
    generous = campaign(1, "discount", percent_bp=5000)
    modest = campaign(2, "discount", percent_bp=1000)
    priced = price_items([JAPAN_5GB], CTX, [generous, modest],
                         allowances={1: Allowance(budget=49_99)})
    assert [(a.campaign_id, a.amount) for a in priced.adjustments] == [(2, 10_00)]


def test_top_up_bonus_and_cashback_are_credits_on_what_is_paid() -> None:
    bonus = campaign(1, "bonus", tiers=((100_00, 10_00), (300_00, 40_00)),
                     scope=Scope(topups=True))
    cashback = campaign(2, "cashback", percent_bp=500, cap=8_00, scope=Scope(topups=True))
    priced = price_items([TOPUP_100, JAPAN_5GB], CTX, [bonus, cashback])
    assert [(c.kind, c.amount) for c in priced.credits] == [("bonus", 10_00),
                                                             ("cashback", 8_00)]
    assert priced.total == 200_00  # credits do not change the price


def test_scope_channel_first_purchase_and_currency() -> None:
    app_only = campaign(1, "discount", percent_bp=1000,
                        scope=Scope(channels=frozenset({"app"})))
    newcomers = campaign(2, "discount", percent_bp=1500, scope=Scope(first_purchase_only=True))
    usd = campaign(3, "spend_save", tiers=((1_00, 1_00),), currency="USD")
    assert price_items([JAPAN_5GB], CTX, [app_only, newcomers, usd]).adjustments == ()
    first = Context(at=NOW, currency="CNY", channel="app", first_purchase=True)
    assert [a.campaign_id for a in price_items([JAPAN_5GB], first, [app_only, newcomers]
                                               ).adjustments] == [2]


# --- properties ---------------------------------------------------------------------------

amounts = st.integers(0, 50_000_00)
items = st.lists(st.builds(
    Item, key=st.just("x"), amount=amounts,
    plan_id=st.one_of(st.none(), st.integers(1, 4)),
    zone=st.sampled_from(["JP", "KR", "ASIA"])), min_size=1, max_size=6)
scopes = st.builds(Scope, plans=st.frozensets(st.integers(1, 4), max_size=2),
                   zones=st.frozensets(st.sampled_from(["JP", "KR", "ASIA"]), max_size=1),
                   topups=st.booleans())
tiers = st.lists(st.tuples(st.integers(1, 1_000_00), st.integers(1, 200_00)), max_size=3)


def _campaigns() -> st.SearchStrategy[list[Campaign]]:
    one = st.one_of(
        st.builds(lambda s, bp, p: ("discount", {"scope": s, "percent_bp": bp,
                                                 "prices": p}),
                  scopes, st.one_of(st.none(), st.integers(0, 10_000)),
                  st.dictionaries(st.integers(1, 4), amounts, max_size=2)),
        st.builds(lambda s, t, r, c: ("spend_save", {"scope": s, "tiers": tuple(t),
                                                     "repeat": r, "cap": c}),
                  scopes, tiers, st.booleans(), st.one_of(st.none(), amounts)))
    return st.lists(one, max_size=5).map(
        lambda specs: [campaign(n + 1, kind, **rule) for n, (kind, rule) in enumerate(specs)])


codes = st.one_of(st.none(), st.builds(
    lambda s, bp, off, m: campaign(99, "code", scope=s, percent_bp=bp, amount_off=off,
                                   min_spend=m),
    scopes, st.one_of(st.none(), st.integers(0, 10_000)), st.integers(0, 100_00),
    st.integers(0, 300_00)))


@settings(max_examples=300, deadline=None)
@given(items=items, campaigns=_campaigns(), code=codes, wanted=st.integers(0, 10**7),
       budgets=st.dictionaries(st.integers(1, 5), st.integers(0, 200_00), max_size=3),
       data=st.data())
def test_every_price_is_exact_and_never_below_zero(items: list[Item], campaigns: list[Campaign],
                                                   code: Campaign | None, wanted: int,
                                                   budgets: dict[int, int],
                                                   data: st.DataObject) -> None:
    points = Points(earn_per=100, worth=data.draw(st.integers(1, 50)),
                    max_share_bp=data.draw(st.integers(0, 10_000)))
    left = {cid: Allowance(budget=b) for cid, b in budgets.items()}
    priced = price_items(items, CTX, campaigns, left, code=code, points=points,
                         points_wanted=wanted)
    assert all(c >= 0 for c in priced.costs)
    assert priced.total >= 0
    assert sum(a.amount for a in priced.adjustments) == priced.list_total - priced.total
    for a in priced.adjustments:
        assert sum(a.shares) == a.amount and all(s >= 0 for s in a.shares)
        if a.campaign_id in left:
            assert a.amount <= (left[a.campaign_id].budget or 0)
    for i, item in enumerate(items):
        assert sum(a.shares[i] for a in priced.adjustments) == item.amount - priced.costs[i]
    shuffled = data.draw(st.permutations(campaigns))
    assert price_items(items, CTX, shuffled, left, code=code, points=points,
                       points_wanted=wanted) == priced


@given(amount=st.integers(0, 10**12), weights=st.lists(st.integers(0, 10**9), min_size=1,
                                                         max_size=8), data=st.data())
def test_apportioned_shares_add_up_and_stay_within_a_minor_unit_of_proportion(
        amount: int, weights: list[int], data: st.DataObject) -> None:
    total = sum(weights)
    amount = min(amount, total)
    shares = apportion(amount, weights)
    assert sum(shares) == amount
    for share, weight in zip(shares, weights, strict=True):
        assert 0 <= share <= weight
        assert abs(share * total - amount * weight) < total or total == 0
    bp = data.draw(st.integers(0, 10_000))
    assert percent_of(total, bp) * 10_000 <= total * bp
