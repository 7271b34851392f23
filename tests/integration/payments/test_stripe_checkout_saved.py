"""A card kept on Stripe's hosted page for later: a traveller buys a plan by card, ticks
"save", and the card becomes a saved payment method of theirs (once, however often Stripe
reports the payment); a week later auto-renew buys the plan again with it off-session
through the ``stripe`` provider's existing path. Against the local Stripe of
``stripe_checkout_peer``, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.payments.checkout_support import (
    ALWAYS_AUTHENTICATE,
    CARD,
    Shop,
    forward,
)
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.orders import renewals
from topup.orders.errors import PaymentMethodUnavailable
from topup.orders.model import Order, OrderRequest
from topup.orders.service import create_order, get_order
from topup.orders.tables import orders
from topup.payments.interfaces import KeptMethod
from topup.payments.saved.records import keep
from topup.payments.saved.service import StoredMethod, list_methods
from topup.subscribers import lines

PLAN = "TH-7D-10GB"


def buy_by_card(shop: Shop, save: bool, method: str = "stripe_checkout") -> Order:
    """The plan, paid on the hosted page (the order made as the portal makes it)."""
    with shop.db.unit() as uow:
        lines.set_auto_renew(uow, shop.line_id, True)
        plan = catalog.get_plan_by_code(uow, PLAN)
        return create_order(uow, shop.user.id, lines.get_line(uow, shop.line_id), OrderRequest(
            kind="plan", method=method, channel="web", plan_id=plan.id, language="zh-CN",
            save_method=save, confirm_duplicate=True), provider=shop.apis.providers[method])


def paid(shop: Shop, o: Order, number: str = CARD, times: int = 1) -> Order:
    """Pay on the page and hand Stripe's completed event over ``times`` times."""
    assert shop.peer.pay(str((o.next_action or {})["value"]), number=number).status_code == 303
    session = str(o.payment_ref).split(":", 1)[1]
    done = shop.peer.delivery("checkout.session.completed", session)
    for _ in range(times):
        assert forward(shop.api.client, done).status_code == 200
    with shop.db.unit(readonly=True) as uow:
        return get_order(uow, o.id)


def cards(shop: Shop) -> list[StoredMethod]:
    with shop.db.unit(readonly=True) as uow:
        return list_methods(uow, shop.user.id)


def renew_all(shop: Shop) -> list[renewals.Outcome]:
    payers = renewals.Payers(shop.apis.providers, shop.apis.savers)
    renewals.take_up(shop.db)
    return [renewals.renew(shop.db, b, payers) for b in renewals.due(shop.db)]


def renewal_orders(shop: Shop) -> list[Any]:
    with shop.db.unit(readonly=True) as uow:
        return list(uow.conn.execute(orders.select().where(
            orders.c.channel == renewals.CHANNEL).order_by(orders.c.id)))


def test_a_card_kept_at_checkout_renews_the_plan_off_session(
        card_shop: Shop, clock: FrozenClock) -> None:
    shop = card_shop
    bought = paid(shop, buy_by_card(shop, save=True), times=2)
    assert bought.state == "fulfilled"
    [card] = cards(shop)
    assert (card.provider, card.brand, card.last4) == ("stripe", "visa", "4242")
    assert shop.balance() == 0, "the plan took all that was paid"
    session = shop.peer.get(f"/v1/checkout/sessions/{str(bought.payment_ref).split(':')[1]}")
    assert session["locale"] == "zh" and session["customer"].startswith("cus_")

    clock.advance(days=7, minutes=-30)
    [done] = renew_all(shop)
    assert done.state == "renewed", done.error
    [renewal] = renewal_orders(shop)
    assert (renewal.method, renewal.state) == ("stripe", "fulfilled")
    intent = shop.peer.get(f"/v1/payment_intents/{renewal.payment_ref.split(':', 1)[1]}",
                           "payment_method")
    assert intent["status"] == "succeeded" and intent["customer"] == session["customer"]
    assert intent["payment_method"]["card"]["last4"] == "4242"
    assert intent["metadata"] == {"order_id": str(renewal.id)}
    assert renew_all(shop) == [], "renewed once"
    assert shop.balance() == 0


def test_a_kept_card_the_bank_wants_authenticated_fails_the_renewal_and_credits_nothing(
        card_shop: Shop, clock: FrozenClock) -> None:
    shop = card_shop
    bought = paid(shop, buy_by_card(shop, save=True), number=ALWAYS_AUTHENTICATE)
    assert bought.state == "fulfilled", "on the hosted page the payer authenticates"
    [card] = cards(shop)
    assert card.last4 == "3184"
    clock.advance(days=7, minutes=-30)
    [attempt] = renew_all(shop)
    assert attempt.state == "retry" and "declined" in (attempt.error or "")
    [renewal] = renewal_orders(shop)
    assert renewal.state == "failed"
    intent = shop.peer.get(f"/v1/payment_intents/{renewal.payment_ref.split(':', 1)[1]}")
    assert intent["last_payment_error"]["code"] == "authentication_required"
    assert shop.balance() == 0


def test_not_asked_not_kept_and_a_removed_card_stays_removed(card_shop: Shop) -> None:
    shop = card_shop
    assert paid(shop, buy_by_card(shop, save=False)).state == "fulfilled"
    assert cards(shop) == []
    first = buy_by_card(shop, save=True)
    session = shop.peer.get(f"/v1/checkout/sessions/{str(first.payment_ref).split(':')[1]}")
    paid(shop, first)
    [card] = cards(shop)
    r = shop.api.client.delete(f"/api/v1/payment-methods/{card.id}", headers=shop.me)
    assert r.status_code == 204, r.text
    done = shop.peer.delivery("checkout.session.completed", session["id"])
    assert forward(shop.api.client, done).status_code == 200
    assert cards(shop) == [], "a replayed report does not bring a removed card back"


def test_a_card_is_kept_only_for_the_order_s_own_customer(card_shop: Shop) -> None:
    shop = card_shop
    stray = KeptMethod("stripe", str(shop.user.id + 1000), "cus_x", "pm_stray", "visa", "4242")
    with shop.db.unit() as uow:
        assert keep(uow, shop.user.id, stray) is None
        assert keep(uow, None, stray) is None
    assert cards(shop) == []


def test_a_method_that_cannot_keep_cards_refuses_to_pretend(card_shop: Shop) -> None:
    with pytest.raises(PaymentMethodUnavailable):
        buy_by_card(card_shop, save=True, method="stripe")
