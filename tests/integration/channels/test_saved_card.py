"""Top up with a saved card over USSD and the IVR hotline, charged off-session through Stripe
(localstripe on 127.0.0.1, the same peer as the saved-methods tests): the channel's fee rule
is told before the caller confirms, and a repeated request never charges twice."""

from __future__ import annotations

import pytest

from tests.integration.channels.agi_peer import FakeAsterisk, environment, place_call
from tests.integration.channels.conftest import ANON_MSISDN, USSD_TOKEN, World
from tests.integration.payments.stripe_peer import StripePeer
from tests.integration.payments.test_saved_methods import (  # noqa: F401  (fixtures)
    DECLINES_ON_CHARGE,
    WEBHOOK_SECRET,
    Shop,
    peer,
)
from topup.catalog.service import set_fee_rule
from topup.channels.ivr.session import Hotline
from topup.orders.model import Order
from topup.orders.service import line_orders
from topup.subscribers import lines as line_svc

CALLER = ANON_MSISDN.lstrip("+")
MENU = "GET DATA topup/en/main-menu 5000 1"
IDLE = [MENU, MENU, MENU, 'STREAM FILE topup/en/goodbye ""', "HANGUP"]


@pytest.fixture
def shop(world: World, peer: StripePeer) -> Shop:  # noqa: F811
    """A Stripe shop whose customer holds the line of ANON_MSISDN."""
    peer.reset(WEBHOOK_SECRET)
    shop = Shop(world.db, peer)
    with world.db.unit() as uow:
        assert line_svc.bind(uow, shop.user.id, world.anon.iccid, "9876") is not None
    return shop


def orders_of(world: World) -> list[Order]:
    with world.db.unit(readonly=True) as uow:
        return line_orders(uow, world.anon.id, limit=10)


def ussd(shop: Shop, text: str, session: str = "card-1") -> str:
    r = shop.api.client.post("/api/v1/ussd", headers={"X-Gateway-Token": USSD_TOKEN}, data={
        "sessionId": session, "serviceCode": "*123#", "phoneNumber": ANON_MSISDN, "text": text})
    assert r.status_code == 200, r.text
    return str(r.text)


def test_ussd_top_up_with_the_saved_card_once(world: World, shop: Shop) -> None:
    shop.save_card(shop.me)
    assert ussd(shop, "4") == "CON Pay with:\n1 Visa *4242\n0 Back"
    assert ussd(shop, "4*1") == ("CON Top-up amount:\n1 CN¥50.00\n2 CN¥100.00\n3 CN¥200.00\n"
                                 "4 CN¥500.00\n0 Back")
    assert ussd(shop, "4*1*2") == (
        "CON Top up CN¥100.00 by Visa *4242\nTotal CN¥100.00\n1 Confirm\n0 Back")
    paid = ussd(shop, "4*1*2*1")
    assert paid == "END Paid: CN¥100.00 added. Balance CN¥100.00."
    assert ussd(shop, "4*1*2*1") == paid, "the gateway's retry charges nothing more"
    assert world.wallet(world.anon) == 100_00
    [order] = orders_of(world)
    assert (order.method, order.channel, order.state, order.fee) == (
        "stripe", "ussd", "fulfilled", 0)
    assert shop.peer.intent(str(order.payment_ref).split(":", 1)[1])["amount"] == 100_00


def test_ivr_top_up_announces_the_fee_then_charges_it(world: World, shop: Shop) -> None:
    shop.save_card(shop.me)
    with world.db.unit() as uow:
        set_fee_rule(uow, "ivr", "stripe", "CNY", 2_00, 0)
    asterisk = FakeAsterisk(environment(CALLER), keys=["3", "100", "2", "3", "100", "1"])
    offer = ["STREAM FILE topup/en/card-ending \"\"", 'SAY DIGITS 4242 ""',
             "GET DATA topup/en/enter-amount 8000 6",
             'STREAM FILE topup/en/amount-is ""', 'SAY NUMBER 100 ""',
             'STREAM FILE topup/en/cur-CNY ""',
             'STREAM FILE topup/en/fee-is ""', 'SAY NUMBER 2 ""', 'STREAM FILE topup/en/cur-CNY ""',
             'STREAM FILE topup/en/total-is ""', 'SAY NUMBER 102 ""',
             'STREAM FILE topup/en/cur-CNY ""', "GET DATA topup/en/confirm 5000 1"]
    hotline = Hotline(world.db, {"stripe": shop.provider}, {"stripe": shop.saver})
    assert place_call(hotline, asterisk) == [
        "ANSWER", 'STREAM FILE topup/en/welcome ""', MENU,
        *offer, 'STREAM FILE topup/en/cancelled ""', MENU,
        *offer, 'STREAM FILE topup/en/topup-done ""', 'STREAM FILE topup/en/new-balance-is ""',
        'SAY NUMBER 100 ""', 'STREAM FILE topup/en/cur-CNY ""', *IDLE]
    [order] = orders_of(world)
    assert (order.channel, order.amount, order.fee, order.state) == (
        "ivr", 100_00, 2_00, "fulfilled")
    assert shop.peer.intent(str(order.payment_ref).split(":", 1)[1])["amount"] == 102_00
    assert world.wallet(world.anon) == 100_00, "the fee is the operator's, not the wallet's"


def test_ivr_a_declined_card_credits_nothing(world: World, shop: Shop) -> None:
    shop.save_card(shop.me, DECLINES_ON_CHARGE)
    asterisk = FakeAsterisk(environment(CALLER), keys=["3", "50", "1"])
    hotline = Hotline(world.db, {"stripe": shop.provider}, {"stripe": shop.saver})
    commands = place_call(hotline, asterisk)
    assert 'SAY DIGITS 0341 ""' in commands
    assert commands[-len(IDLE) - 1:] == ['STREAM FILE topup/en/card-declined ""', *IDLE]
    assert world.wallet(world.anon) == 0
    assert [o.state for o in orders_of(world)] == ["failed"]
