"""The one price service (``catalog.quotes.price``) and the ``Quote`` it answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topup.catalog.errors import InvalidQuote, PlanNotOnSale, PriceNotAvailable
from topup.catalog.quotes import DISCOUNT, FEE, LIST_PRICE, Adjustment, Quote, price
from topup.catalog.service import PlanSpec, set_fee_rule, upsert_plan
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.money import MAX_AMOUNT, CurrencyMismatch, Money
from topup.promotions.errors import PromoCodeNotFound

AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def test_a_plan_is_quoted_at_its_list_price_with_no_fee_and_no_discount(
        world: UnitOfWork, spec: Callable[..., PlanSpec]) -> None:
    plan = upsert_plan(world, spec())
    q = price(world, plan, "cny", AT, "web", customer=7)
    assert (q.currency, q.item, q.plan_id, q.plan_code) == ("CNY", "plan", plan.id, plan.code)
    assert [(x.kind, x.name, x.amount) for x in q.lines] == [(LIST_PRICE, LIST_PRICE, 4900)]
    assert (q.subtotal, q.fee_amount, q.total, q.discounts, q.fee) == (4900, 0, 4900, (), None)
    assert q.to_json() == {
        "v": 1, "currency": "CNY", "item": "plan", "plan_id": plan.id,
        "plan_code": "TH-7D-10GB", "channel": "web", "at": "2025-03-01T08:00:00Z",
        "code": None,
        "lines": [{"kind": "list_price", "name": "list_price", "amount": 4900, "ref": None}],
        "subtotal": 4900, "fee": 0, "total": 4900, "credits": [], "points": 0}
    assert price(world, plan, "USD", AT, "ussd").total == 699


def test_the_fee_of_the_channel_and_method_is_a_line_of_the_quote(
        world: UnitOfWork, spec: Callable[..., PlanSpec]) -> None:
    plan = upsert_plan(world, spec())
    set_fee_rule(world, "ivr", "*", "CNY", 100, 250)  # 1.00 CNY + 2.5 %
    q = price(world, plan, "CNY", AT, "ivr", method="stripe")
    # 4900 * 2.5 % = 122.5, rounded up to a whole fen
    assert [(x.kind, x.amount) for x in q.lines] == [(LIST_PRICE, 4900), (FEE, 100 + 123)]
    assert (q.subtotal, q.fee_amount, q.total) == (4900, 223, 5123)
    assert price(world, plan, "CNY", AT, "web", method="stripe").fee is None, "other channel"
    assert price(world, plan, "CNY", AT, "ivr").fee is None, "no method known: no fee line"


def test_a_top_up_amount_is_quoted_as_given(world: UnitOfWork) -> None:
    q = price(world, Money(10000, "CNY"), "CNY", AT, "pos")
    assert (q.item, q.plan_id, q.total) == ("topup", None, 10000)
    assert price(world, 500, "JPY", AT, "kiosk").total == 500
    with pytest.raises(CurrencyMismatch):
        price(world, Money(10000, "USD"), "CNY", AT, "pos")
    with pytest.raises(InvalidInput):
        price(world, 0, "CNY", AT, "pos")
    with pytest.raises(InvalidInput):
        price(world, MAX_AMOUNT + 1, "CNY", AT, "pos")


def test_a_plan_off_sale_or_not_sold_in_the_currency_is_refused(
        world: UnitOfWork, spec: Callable[..., PlanSpec]) -> None:
    plan = upsert_plan(world, spec(sale_from=AT + timedelta(days=1)))
    with pytest.raises(PlanNotOnSale):
        price(world, plan, "CNY", AT, "web")
    assert price(world, plan, "CNY", AT + timedelta(days=1), "web").total == 4900
    with pytest.raises(PriceNotAvailable):
        price(world, plan, "EUR", AT + timedelta(days=1), "web")


def test_a_promo_code_no_campaign_grants_is_refused(
        world: UnitOfWork, spec: Callable[..., PlanSpec]) -> None:
    plan = upsert_plan(world, spec())
    with pytest.raises(PromoCodeNotFound) as info:
        price(world, plan, "CNY", AT, "web", code=" spring10 ")
    assert info.value.code == "unknown_promo_code" and info.value.status == 422
    assert info.value.extra == {"field": "code"}
    assert price(world, plan, "CNY", AT, "web", code="  ").code is None, "blank: no code"


@pytest.mark.parametrize("channel", ["", " ", "x" * 17])
def test_a_channel_is_named(world: UnitOfWork, channel: str) -> None:
    with pytest.raises(InvalidQuote):
        price(world, 100, "CNY", AT, channel)


def _quote(listed: int, discounts: list[int], fee: int, currency: str = "CNY") -> Quote:
    return Quote(currency=currency, item="topup", at=AT, channel="api",
                 list_price=Adjustment(LIST_PRICE, LIST_PRICE, listed),
                 discounts=tuple(Adjustment(DISCOUNT, f"campaign:{i}", -d)
                                 for i, d in enumerate(discounts)),
                 fee=Adjustment(FEE, FEE, fee) if fee else None)


AMOUNT = st.integers(1, MAX_AMOUNT)


@given(listed=AMOUNT, cuts=st.lists(st.integers(1, 10**6), max_size=4),
       fee=st.integers(0, 10**6))
def test_the_lines_add_up_exactly_and_survive_json(listed: int, cuts: list[int],
                                                    fee: int) -> None:
    if sum(cuts) > listed:
        with pytest.raises(InvalidQuote):
            _quote(listed, cuts, fee)
        return
    q = _quote(listed, cuts, fee)
    assert q.subtotal == listed - sum(cuts)
    assert q.total == q.subtotal + fee == sum(x.amount for x in q.lines)
    assert [x.kind for x in q.lines] == [LIST_PRICE] + [DISCOUNT] * len(cuts) + (
        [FEE] if fee else [])
    text = q.dumps()
    assert json.loads(text) == q.to_json()
    again = Quote.from_json(json.loads(text))
    assert again == q and again.dumps() == text


def test_quote_lines_and_forms_are_checked() -> None:
    for bad in [(LIST_PRICE, 0), (DISCOUNT, 5), (FEE, 0), (FEE, -1), ("bonus", 5)]:
        with pytest.raises(InvalidQuote):
            Adjustment(bad[0], "x", bad[1])
    with pytest.raises(InvalidQuote):
        Adjustment(FEE, FEE, True)  # a bool is not an amount
    good = _quote(1000, [100], 50).to_json()
    assert Quote.from_json(good).total == 950
    for broken in [{**good, "total": 951}, {**good, "v": 2}, {**good, "lines": []},
                   {**good, "at": "yesterday"}, {**good, "lines": [good["lines"][1]]},
                   {k: v for k, v in good.items() if k != "currency"}]:
        with pytest.raises(InvalidQuote):
            Quote.from_json(broken)
    with pytest.raises(InvalidQuote):  # a discount after the fee is not how a quote reads
        Quote.from_json({**good, "lines": [good["lines"][0], good["lines"][2],
                                           good["lines"][1]]})
    with pytest.raises(InvalidQuote):
        Quote(currency="CNY", item="plan", list_price=Adjustment(LIST_PRICE, LIST_PRICE, 1),
              discounts=(), fee=None, at=AT, channel="api")  # a plan quote names its plan
    with pytest.raises(InvalidQuote):
        Quote(currency="CNY", item="topup", list_price=Adjustment(LIST_PRICE, LIST_PRICE, 1),
              discounts=(), fee=None, at=AT.replace(tzinfo=None), channel="api")
