"""Promotions, worked like a textbook: each story an order, the quote it was made at, the
ledger's movements it caused, and the books balanced (the ``db`` fixture checks them after
every test), on SQLite and PostgreSQL.

Accounts: the traveller's wallet; the operator's ``promotion_expense`` (what campaigns cost),
``deferred_revenue`` (plans not yet earned) and ``revenue``. A discount or a bonus is always
a transfer out of ``promotion_expense``: to deferred revenue for a plan (its revenue is then
its list price), to the wallet for a top-up or a bonus.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import START
from tests.factories import SandboxShop, fund, make_line, sandbox_shop
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.ledger.tables import accounts
from topup.orders import revenue
from topup.orders.service import expire_unpaid
from topup.orders.tables import orders
from topup.promotions import books, points, referrals, store
from topup.promotions.rules import Scope
from topup.promotions.tables import campaigns, redemptions

WINDOW = (START - timedelta(hours=1), START + timedelta(days=30))


@pytest.fixture
def shop(db: Database) -> SandboxShop:
    with db.unit() as uow:
        seed_catalog(uow)
    return sandbox_shop(db)


def campaign(db: Database, kind: str, **rule: Any) -> int:
    with db.unit() as uow:
        return store.create_campaign(uow, store.CampaignSpec(kind, f"{kind} offer", *WINDOW,
                                                             **rule))


def a_plan(db: Database) -> tuple[int, int]:
    """A plan sold in CNY and its list price."""
    with db.unit(readonly=True) as uow:
        from topup.catalog.tables import plan_prices

        row = uow.conn.execute(select(plan_prices.c.plan_id, plan_prices.c.amount).where(
            plan_prices.c.currency == "CNY").order_by(plan_prices.c.plan_id)).first()
    assert row is not None
    return int(row.plan_id), int(row.amount)


def balance_of(db: Database, kind: str) -> int:
    """Debits less credits over every shard of the operator's ``kind`` account (CNY)."""
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.coalesce(func.sum(
            accounts.c.debits_posted - accounts.c.credits_posted), 0)).where(
            accounts.c.kind == kind, accounts.c.unit == "money:CNY")).scalar_one())


def wallet(db: Database, line_id: int) -> int:
    with db.unit(readonly=True) as uow:
        return ledger.balance(uow, ledger.wallet(uow, line_id, "CNY")).posted


def redeemed(db: Database) -> list[tuple[str, int]]:
    with db.unit(readonly=True) as uow:
        return [(r.state, r.amount) for r in uow.conn.execute(
            select(redemptions).order_by(redemptions.c.id))]


def order(shop: SandboxShop, **body: Any) -> dict[str, Any]:
    made = shop.api.post("/api/v1/orders", shop.me, key=f"k{len(body)}{sorted(body.items())}",
                         json={"line_id": shop.line_id, "confirm_duplicate": True, **body})
    assert made.status_code in (200, 201), made.text
    return dict(made.json())


def test_a_flash_sale_plan_bought_from_the_wallet(db: Database, shop: SandboxShop) -> None:
    """20 % off a plan: the wallet pays 80 %, the campaign the rest; the plan's revenue, when
    earned, is its list price."""
    plan_id, listed = a_plan(db)
    sale = campaign(db, "discount", percent_bp=2000, scope=Scope(plans=frozenset({plan_id})))
    fund(db, shop_line(db, shop), listed)
    quote = shop.api.post("/api/v1/orders/quote", shop.me, json={
        "line_id": shop.line_id, "kind": "plan", "method": "wallet", "plan_id": plan_id})
    off = listed * 2000 // 10_000
    assert [(x["kind"], x["amount"]) for x in quote.json()["quote"]["lines"]] == [
        ("list_price", listed), ("discount", -off)]
    bought = order(shop, kind="plan", method="wallet", plan_id=plan_id)
    assert bought["amount"] == listed - off and bought["state"] == "fulfilled"
    assert wallet(db, shop.line_id) == off  # funded the list price, paid the sale price
    assert balance_of(db, "promotion_expense") == off
    assert balance_of(db, "deferred_revenue") == -listed
    with db.unit() as uow:
        assert revenue.earn(uow, bought["id"]) == listed
    assert balance_of(db, "revenue") == -listed and balance_of(db, "deferred_revenue") == 0
    assert redeemed(db) == [("applied", off)]
    with db.unit(readonly=True) as uow:
        assert tuple(uow.conn.execute(select(campaigns.c.uses, campaigns.c.spent).where(
            campaigns.c.id == sale)).one()) == (1, off)


def shop_line(db: Database, shop: SandboxShop) -> Any:
    from topup.subscribers.lines import get_line

    with db.unit(readonly=True) as uow:
        return get_line(uow, shop.line_id)


def test_spend_and_save_on_a_paid_top_up_then_its_full_refund(db: Database,
                                                               shop: SandboxShop) -> None:
    """满100减10 on top-ups: the payer pays 90.00, the wallet gets the 100.00 asked for; a full
    refund pays the 90.00 back and takes the campaign's 10.00 back from the wallet."""
    campaign(db, "spend_save", currency="CNY", tiers=((100_00, 10_00),),
             scope=Scope(topups=True))
    made = order(shop, kind="topup", method="sandbox", amount=100_00)
    assert made["amount"] == 90_00 and made["quote"]["total"] == 90_00
    shop.pay(made)
    assert wallet(db, shop.line_id) == 100_00
    assert balance_of(db, "promotion_expense") == 10_00
    back = shop.api.post(f"/api/v1/admin/orders/{made['id']}/refunds", shop.staff, key="r1",
                         json={"reason": "changed plans"})
    assert back.status_code == 201, back.text
    assert wallet(db, shop.line_id) == 0 and balance_of(db, "promotion_expense") == 0
    assert redeemed(db) == [("reversed", 10_00)]


def test_a_promo_code_on_a_plan_paid_by_card(db: Database, shop: SandboxShop) -> None:
    """A shared code, 5.00 off from a spend of the plan's price: its line is on the quote,
    the order, the receipt; a code for nothing in the order, or unknown, is refused."""
    plan_id, listed = a_plan(db)
    cid = campaign(db, "code", currency="CNY", amount_off=5_00, min_spend=listed)
    with db.unit() as uow:
        store.add_code(uow, cid, "TRIP5")
    unknown = shop.api.post("/api/v1/orders", shop.me, key="u", json={
        "line_id": shop.line_id, "kind": "plan", "method": "sandbox", "plan_id": plan_id,
        "code": "nope-nope"})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_promo_code"
    small = shop.api.post("/api/v1/orders", shop.me, key="s", json={
        "line_id": shop.line_id, "kind": "topup", "method": "sandbox", "amount": 50_00,
        "code": "trip 5"})
    assert small.status_code == 422 and small.json().get("reason") == "no_items", small.text
    made = order(shop, kind="plan", method="sandbox", plan_id=plan_id, code="trip-5")
    assert made["amount"] == listed - 5_00 and made["quote"]["code"] == "TRIP5"
    shop.pay(made)
    assert balance_of(db, "promotion_expense") == 5_00
    receipt = shop.api.client.get(f"/api/v1/orders/{made['id']}/receipt.html",
                                  headers=shop.me)
    assert receipt.status_code == 200 and "code offer" in receipt.text
    assert redeemed(db) == [("applied", 5_00)]


def test_a_top_up_bonus_is_credited_on_top(db: Database, shop: SandboxShop) -> None:
    """充100送10: pay 100.00, the wallet gets 110.00; the bonus is the campaign's cost."""
    campaign(db, "bonus", currency="CNY", tiers=((100_00, 10_00),), scope=Scope(topups=True))
    made = order(shop, kind="topup", method="sandbox", amount=100_00)
    assert made["amount"] == 100_00
    assert [(c["kind"], c["amount"]) for c in made["quote"]["credits"]] == [("bonus", 10_00)]
    shop.pay(made)
    assert wallet(db, shop.line_id) == 110_00
    assert balance_of(db, "promotion_expense") == 10_00


def test_an_order_given_up_lets_its_campaign_go(db: Database, shop: SandboxShop) -> None:
    """A single-use code held by an unpaid order is free again once the order expires."""
    cid = campaign(db, "code", percent_bp=1000, scope=Scope(topups=True), total_limit=1)
    with db.unit() as uow:
        code = store.make_codes(uow, cid, 1)[0]
    made = order(shop, kind="topup", method="sandbox", amount=50_00, code=code)
    assert made["amount"] == 45_00 and redeemed(db) == [("held", 5_00)]
    again = shop.api.post("/api/v1/orders", shop.me, key="again", json={
        "line_id": shop.line_id, "kind": "topup", "method": "sandbox", "amount": 60_00,
        "code": code, "confirm_duplicate": True})
    assert again.status_code == 422 and again.json()["reason"] == "used_up"
    with db.unit() as uow:
        expire_unpaid(uow, made["id"])
    assert redeemed(db) == [("released", 5_00)]
    assert order(shop, kind="topup", method="sandbox", amount=60_00, code=code)["amount"] \
        == 54_00


def test_cashback_is_paid_once_the_refund_window_has_passed(db: Database, shop: SandboxShop,
                                                            clock: FrozenClock) -> None:
    """返现 5 % of top-ups, at most 3.00: nothing moves at the payment; the worker pays it
    into the wallet once the order has been fulfilled for TOPUP_CASHBACK_AFTER_DAYS (7), once;
    an order refunded before then never gets it."""
    campaign(db, "cashback", percent_bp=500, cap=3_00, currency="CNY", scope=Scope(topups=True))
    kept = order(shop, kind="topup", method="sandbox", amount=40_00)
    refunded = order(shop, kind="topup", method="sandbox", amount=50_00)
    assert [(c["kind"], c["amount"]) for c in kept["quote"]["credits"]] == [("cashback", 2_00)]
    shop.pay(kept)
    shop.pay(refunded)
    assert wallet(db, shop.line_id) == 90_00 and balance_of(db, "promotion_expense") == 0
    back = shop.api.post(f"/api/v1/admin/orders/{refunded['id']}/refunds", shop.staff,
                         key="r2", json={"reason": "did not travel"})
    assert back.status_code == 201, back.text
    with db.unit() as uow:
        assert books.credit_cashback(uow) == 0  # not yet: the refund window is open
    clock.advance(days=7)
    with db.unit() as uow:
        assert books.credit_cashback(uow) == 1
    with db.unit() as uow:
        assert books.credit_cashback(uow) == 0  # paid once
    assert wallet(db, shop.line_id) == 42_00 and balance_of(db, "promotion_expense") == 2_00
    assert sorted(redeemed(db)) == [("credited", 2_00), ("reversed", 2_50)]


def test_points_earned_by_a_payment_spent_on_a_plan_and_returned_by_its_refund(
        db: Database, shop: SandboxShop, clock: FrozenClock) -> None:
    """积分: 200.00 paid by card earns 200 points (one per 1.00); 150 of them pay 1.50 of a
    plan (at most 20 % of its price), held while the order waits, spent when it is paid;
    taking the plan back returns them; a year without use expires the rest."""
    plan_id, listed = a_plan(db)
    topped = order(shop, kind="topup", method="sandbox", amount=200_00)
    shop.pay(topped)
    me = shop.api.client.get("/api/v1/auth/me/points", headers=shop.me).json()
    assert (me["balance"], me["held"], me["worth"]) == (200, 0, 1)
    bought = order(shop, kind="plan", method="wallet", plan_id=plan_id, points=150)
    used = min(150, listed * 2000 // 10_000)
    assert bought["amount"] == listed - used and bought["quote"]["points"] == used
    assert bought["quote"]["lines"][-1] == {"kind": "discount", "name": "points",
                                            "amount": -used, "ref": "points"}
    assert shop.api.client.get("/api/v1/auth/me/points", headers=shop.me).json()[
        "balance"] == 200 - used
    assert balance_of(db, "promotion_expense") == used  # the money the points paid
    back = shop.api.post(f"/api/v1/admin/orders/{bought['id']}/refunds", shop.staff,
                         key="r3", json={"reason": "bought the wrong plan"})
    assert back.status_code == 201, back.text
    assert shop.api.client.get("/api/v1/auth/me/points", headers=shop.me).json()[
        "balance"] == 200
    assert balance_of(db, "promotion_expense") == 0 and wallet(db, shop.line_id) == 200_00
    clock.advance(days=366)
    with db.unit() as uow:
        assert points.expire(uow) == 1
        assert points.expire(uow) == 0
    with db.unit(readonly=True) as uow:
        customer = int(uow.conn.execute(select(orders.c.customer_id)).scalars().first())
        assert points.standing(uow, customer) == points.Standing(0, 0, None)


def test_a_referral_credits_both_after_the_invitees_first_paid_order_stays_paid(
        db: Database, shop: SandboxShop, clock: FrozenClock) -> None:
    """邀请返利: the invitee registers with the inviter's code; once their first order paid by
    card has been fulfilled for TOPUP_CASHBACK_AFTER_DAYS, both get TOPUP_REFERRAL_POINTS
    (500) points, once. A code that is not a traveller's refuses the registration."""
    api = shop.api
    code = api.client.get("/api/v1/auth/me/points", headers=shop.me).json()["invite_code"]
    forged = api.client.post("/api/v1/auth/register", json={
        "email": "forged@example.com", "password": "correct-horse-battery",
        "invite": code[:-1] + ("A" if code[-1] != "A" else "B")})
    assert forged.status_code == 422 and forged.json()["code"] == "invalid_invite"
    assert forged.json()["field"] == "invite"
    friend = api.client.post("/api/v1/auth/register", json={
        "email": "friend@example.com", "password": "correct-horse-battery",
        "invite": code.lower()})
    assert friend.status_code == 201, friend.text
    again = api.client.post("/api/v1/auth/register", json={
        "email": "forged@example.com", "password": "correct-horse-battery"})
    assert again.status_code == 201, "the refused registration kept nothing"
    theirs = api.login("friend@example.com")
    line = make_line(db, secret="1414")
    api.client.post("/api/v1/lines/bind", headers=theirs,
                    json={"identifier": line.iccid, "secret": "1414"})
    paid = api.post("/api/v1/orders", theirs, key="f1", json={
        "line_id": line.id, "kind": "topup", "method": "sandbox", "amount": 30_00})
    assert paid.status_code == 201, paid.text
    shop.pay(paid.json())
    with db.unit() as uow:
        assert referrals.credit_due(uow) == 0  # the refund window is still open
    clock.advance(days=7)
    with db.unit() as uow:
        assert referrals.credit_due(uow) == 1
        assert referrals.credit_due(uow) == 0
    inviter = _owner(db, shop)
    with db.unit(readonly=True) as uow:
        assert points.standing(uow, inviter).balance == 500
        assert points.standing(uow, int(friend.json()["id"])).balance == 500 + 30
        assert referrals.invited_count(uow, inviter) == (1, 1)


def _owner(db: Database, shop: SandboxShop) -> int:
    from topup.subscribers.lines import get_line

    with db.unit(readonly=True) as uow:
        return int(get_line(uow, shop.line_id).customer_id or 0)


def test_a_bonus_for_one_agents_counter_only(db: Database) -> None:
    """充值送 scoped to one retail agent: a top-up sold at its counter gets the bonus (from
    promotion_expense, on top of what the float paid); the same top-up at another agent's
    counter does not."""
    from tests.integration.agents.conftest import open_counter

    with db.unit() as uow:
        seed_catalog(uow)
    counter = open_counter(db)
    ours, theirs = counter.agent("Airport kiosk"), counter.agent("Harbour store")
    for agent in (ours, theirs):
        assert counter.fund(agent, 1_000_00).status_code == 201
    campaign(db, "bonus", currency="CNY", tiers=((100_00, 8_00),),
             scope=Scope(topups=True, agents=frozenset({ours})))
    line = make_line(db, msisdn="+85261230001", country="HK")
    sold = counter.topup(ours, "+85261230001", 100_00)
    assert sold.status_code == 201, sold.text
    assert counter.wallet(line.id) == 108_00  # the float paid 100.00 (less its commission)
    assert counter.topup(theirs, "+85261230001", 100_00,
                         confirm_duplicate=True).status_code == 201
    assert counter.wallet(line.id) == 208_00
    assert balance_of(db, "promotion_expense") == 8_00
