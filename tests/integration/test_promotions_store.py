"""Campaigns and promo codes kept in the database: definitions checked, codes made and found,
limits and budgets held under concurrency, holds settled, counters given back.

Each test runs on SQLite and PostgreSQL (the ``db`` fixture); the books are checked after each.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import START
from tests.factories import make_line, make_user
from topup.db.uow import Database
from topup.orders.model import OrderRequest
from topup.orders.service import create_order
from topup.promotions import store
from topup.promotions.engine import price_items
from topup.promotions.errors import (
    InvalidCampaign,
    PromoCodeNotFound,
    PromotionUnavailable,
)
from topup.promotions.rules import Context, Item, Scope
from topup.promotions.tables import campaigns, promo_codes, redemptions
from topup.subscribers.lines import bind

WEEK = (START - timedelta(hours=1), START + timedelta(days=7))


def spec(kind: str = "discount", **rule: object) -> store.CampaignSpec:
    return store.CampaignSpec(kind, f"{kind} campaign", *WEEK, **rule)  # type: ignore[arg-type]


def orders(db: Database, count: int) -> tuple[int, list[int]]:
    """A traveller and ``count`` of their orders (staff credits: paid at once)."""
    user = make_user(db)
    line = make_line(db)
    with db.unit() as uow:
        line = bind(uow, user.id, line.iccid, "1234")
    made = []
    with db.unit() as uow:
        for n in range(count):
            made.append(create_order(uow, None, line, OrderRequest(
                kind="topup", method="manual", channel="admin", amount=10_00 + n,
                currency="CNY", reason="test order", confirm_duplicate=True)).id)
    return user.id, made


@pytest.mark.parametrize(("bad", "field"), [
    (spec(percent_bp=0), "percent_bp"),
    (spec(), "percent_bp"),
    (spec("spend_save", currency="CNY"), "tiers"),
    (spec("spend_save", tiers=((100_00, 10_00),)), "currency"),
    (spec("code", percent_bp=1000, amount_off=5_00, currency="CNY"), "percent_bp"),
    (spec("bonus", tiers=((100_00, 10_00),), currency="CNY"), "scope"),
    (spec(percent_bp=1000, scope=Scope(channels=frozenset({"telegraph"}))), "scope"),
    (spec(percent_bp=1000, total_limit=0), "total_limit"),
    (store.CampaignSpec("discount", "backwards", WEEK[1], WEEK[0], percent_bp=1000), "ends_at"),
])
def test_a_bad_definition_names_its_field_and_keeps_nothing(
        db: Database, bad: store.CampaignSpec, field: str) -> None:
    with db.unit() as uow, pytest.raises(InvalidCampaign) as refused:
        store.create_campaign(uow, bad)
    assert refused.value.extra["field"] == field
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(campaigns)).first() is None


def test_codes_are_made_unique_and_found_however_they_are_typed(db: Database) -> None:
    with db.unit() as uow:
        cid = store.create_campaign(uow, spec("code", amount_off=5_00, currency="CNY"))
        shared = store.add_code(uow, cid, "summer-26", max_uses=100)
        batch = store.make_codes(uow, cid, 50, prefix="TRIP")
    assert shared == "SUMMER26" and len(set(batch)) == 50
    assert all(c.startswith("TRIP") and len(c) == 14 for c in batch)
    with db.unit(readonly=True) as uow:
        kept, row = store.find_code(uow, " summer 26 ")
        assert kept.campaign.id == cid and row.max_uses == 100
        with pytest.raises(PromoCodeNotFound):
            store.find_code(uow, "WINTER26")
    with db.unit() as uow, pytest.raises(InvalidCampaign):
        store.add_code(uow, cid, "Summer_26")  # the same code, spelt otherwise


def _priced(db: Database, cid: int, amount: int = 10_00):
    with db.unit(readonly=True) as uow:
        live = [k.campaign for k in store.live(uow, START)]
    return price_items([Item("topup", amount)], Context(START, "CNY", "web"), live,
                       code=next((c for c in live if c.id == cid and c.kind == "code"), None))


@pytest.mark.parametrize(("limits", "kept"), [
    ({"total_limit": 37}, 37),
    ({"budget": 1000_00}, 33),  # 30.00 each: 33 fit in 1,000.00
    ({"per_customer_limit": 3}, 3),
])
def test_a_hundred_concurrent_redemptions_never_pass_a_limit_or_budget(
        db: Database, limits: dict[str, int], kept: int) -> None:
    with db.unit() as uow:
        cid = store.create_campaign(uow, spec("spend_save", tiers=((50_00, 30_00),),
                                              currency="CNY", scope=Scope(topups=True),
                                              **limits))
    customer, made = orders(db, 100)
    priced = _priced(db, cid, 100_00)
    assert priced.adjustments[0].amount == 30_00

    def redeem(order_id: int) -> bool:
        try:
            with db.unit() as uow:
                store.hold(uow, order_id, customer, "CNY", store.benefits(priced))
            return True
        except PromotionUnavailable:
            return False

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(redeem, made))
    assert sum(outcomes) == kept
    with db.unit(readonly=True) as uow:
        row = uow.conn.execute(select(campaigns).where(campaigns.c.id == cid)).one()
        held = uow.conn.execute(select(redemptions).where(redemptions.c.state == "held")).all()
    assert (row.uses, row.spent, len(held)) == (kept, kept * 30_00, kept)


def test_a_single_use_code_is_used_once_and_freed_by_a_failure_not_by_a_refund(
        db: Database) -> None:
    with db.unit() as uow:
        cid = store.create_campaign(uow, spec("code", amount_off=5_00, currency="CNY",
                                              scope=Scope(topups=True)))
        code = store.make_codes(uow, cid, 1)[0]
    customer, made = orders(db, 3)
    priced = _priced(db, cid)
    with db.unit() as uow:
        _, row = store.find_code(uow, code)
        store.hold(uow, made[0], customer, "CNY", store.benefits(priced), code_id=row.id)
    with db.unit() as uow, pytest.raises(PromotionUnavailable):
        store.hold(uow, made[1], customer, "CNY", store.benefits(priced), code_id=row.id)
    with db.unit() as uow:
        store.settle(uow, made[0], "released")  # the order failed: the code is free again
        store.hold(uow, made[1], customer, "CNY", store.benefits(priced), code_id=row.id)
        store.settle(uow, made[1], "applied")
        store.settle(uow, made[1], "reversed")  # refunded: its campaign keeps codes used
    with db.unit(readonly=True) as uow:
        uses = uow.conn.execute(select(promo_codes.c.uses).where(
            promo_codes.c.id == row.id)).scalar_one()
        counters = uow.conn.execute(select(campaigns.c.uses, campaigns.c.spent)).one()
        states = uow.conn.execute(select(redemptions.c.state).order_by(redemptions.c.id)
                                  ).scalars().all()
    assert uses == 1 and tuple(counters) == (0, 0) and states == ["released", "reversed"]


def test_allowances_say_what_is_left_for_a_customer(db: Database) -> None:
    with db.unit() as uow:
        cid = store.create_campaign(uow, spec(percent_bp=1000, currency="CNY",
                                              total_limit=10, per_customer_limit=2,
                                              budget=50_00))
    customer, made = orders(db, 1)
    priced = price_items([Item("plan:1", 100_00, plan_id=1, zone="JP")],
                         Context(START, "CNY", "web"), [_live(db, cid)])
    with db.unit() as uow:
        store.hold(uow, made[0], customer, "CNY", store.benefits(priced))
        left = store.allowances(uow, store.live(uow, START), customer)
        assert store.allowances(uow, store.live(uow, START), None)[cid].uses == 0
    assert (left[cid].uses, left[cid].budget) == (1, 40_00)
    with db.unit() as uow:
        store.set_state(uow, cid, "ended")
        assert store.live(uow, START) == []
        with pytest.raises(InvalidCampaign):
            store.set_state(uow, cid, "active")


def _live(db: Database, cid: int):
    with db.unit(readonly=True) as uow:
        return store.get(uow, cid).campaign


def test_a_hundred_concurrent_uses_of_a_code_never_pass_its_own_limit(db: Database) -> None:
    with db.unit() as uow:
        cid = store.create_campaign(uow, spec("code", amount_off=2_00, currency="CNY",
                                              scope=Scope(topups=True)))
        store.add_code(uow, cid, "FIVE-ONLY", max_uses=5)
    _, made = orders(db, 100)
    priced = _priced(db, cid, 100_00)
    with db.unit(readonly=True) as uow:
        _, code = store.find_code(uow, "FIVEONLY")

    def redeem(order_id: int) -> bool:
        try:
            with db.unit() as uow:
                store.hold(uow, order_id, None, "CNY", store.benefits(priced), code.id)
            return True
        except PromotionUnavailable:
            return False

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert sum(pool.map(redeem, made)) == 5
    with db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(promo_codes.c.uses).where(
            promo_codes.c.id == code.id)).scalar_one() == 5
