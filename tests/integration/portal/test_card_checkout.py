"""Paying by card in the portal: the card choice leads to Stripe's hosted page (the local
Stripe of ``stripe_checkout_peer``), a box keeps the card for automatic renewals and top-ups
(en and zh-CN), the payer comes back to the order page credited, and the card is then among
their saved methods. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories import make_line
from tests.integration.payments.checkout_support import (
    WEBHOOK_SECRET,
    Adapters,
    adapters,
    forward,
    path_of,
)
from tests.integration.payments.stripe_checkout_peer import StripeCheckoutPeer
from tests.integration.portal.conftest import Browser, confirm, summary
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.payments.saved.service import list_methods
from topup.subscribers.lines import Line

SAVE_EN = "Save this card for automatic renewals and top-ups"
SAVE_ZH = "保存此卡，用于自动续订和自动充值"


@pytest.fixture(scope="module")
def peer() -> Iterator[StripeCheckoutPeer]:
    running = StripeCheckoutPeer().start()
    yield running
    running.stop()


@pytest.fixture
def apis(peer: StripeCheckoutPeer) -> Adapters:
    peer.reset()
    peer.add_endpoint(None, WEBHOOK_SECRET)
    return adapters(peer)


class Traveller:
    """A signed-in traveller with a bound line on a portal that takes cards via Stripe."""

    def __init__(self, db: Database, apis: Adapters, lang: str = "en", savers: bool = True
                 ) -> None:
        self.db, self.apis = db, apis
        self.browser = Browser(db, apis.providers, lang)
        self.browser.client.app.state.saved_methods = (  # type: ignore[attr-defined]
            apis.savers if savers else {})
        self.line: Line = make_line(db, secret="2718", country="TH")
        self.email = self.browser.register()
        assert self.browser.bind(self.line).url.path == f"/lines/{self.line.id}"

    def user_id(self) -> int:
        from topup.subscribers.tables import users

        with self.db.unit(readonly=True) as uow:
            return int(uow.conn.execute(users.select().where(
                users.c.email == self.email)).one().id)

    def to_stripe(self, amount: str = "10000", **extra: str) -> str:
        """Choose the card on the top-up form, submit the summary: the hosted page's URL."""
        b, line = self.browser, self.line
        path = f"/lines/{line.id}/topup"
        chosen = b.submit(path, path, {"amount": amount, "method": "stripe_checkout"})
        assert chosen.url.path == f"/lines/{line.id}/checkout", chosen.text[:300]
        sent = confirm(b, line, chosen, **extra)
        assert sent.status_code == 303, sent.text[:300]
        return str(sent.headers["location"])


@pytest.fixture
def world(db: Database) -> Database:
    with db.unit() as uow:
        seed_catalog(uow)
    return db


def test_a_card_top_up_on_the_hosted_page_with_the_card_kept(world: Database, apis: Adapters
                                                              ) -> None:
    me = Traveller(world, apis)
    form = me.browser.get(f"/lines/{me.line.id}/topup").text
    assert 'value="stripe_checkout"' in form and 'value="stripe"' not in form
    shown = summary(me.browser, me.line, kind="topup", amount="10000", method="stripe_checkout")
    assert SAVE_EN in shown.text and 'id="saved-cards"' not in shown.text
    url = me.to_stripe(save_card="yes")
    assert url.startswith(f"{apis.peer.url}/c/pay/cs_test_")
    session = apis.peer.get(f"/v1/checkout/sessions/{url.rsplit('/', 1)[1]}")
    assert session["customer"] and session["locale"] == "en"
    back = apis.peer.pay(url)
    assert back.status_code == 303
    page = me.browser.get(path_of(back.headers["location"]))
    assert page.url.path.startswith("/orders/") and 'data-state="fulfilled"' in page.text
    assert "CN¥100.00 was credited" in page.text
    done = apis.peer.delivery("checkout.session.completed", session["id"])
    assert forward(me.browser.client, done).status_code == 200
    with world.unit(readonly=True) as uow:
        [card] = list_methods(uow, me.user_id())
    assert (card.provider, card.brand, card.last4) == ("stripe", "visa", "4242")
    again = summary(me.browser, me.line, kind="topup", amount="20000", method="stripe_checkout")
    assert "Saved cards:" in again.text and "Visa •••• 4242" in again.text


def test_in_chinese_and_without_a_saver_no_box(world: Database, apis: Adapters) -> None:
    zh = Traveller(world, apis, lang="zh-CN")
    shown = summary(zh.browser, zh.line, kind="topup", amount="10000", method="stripe_checkout")
    assert SAVE_ZH in shown.text
    url = zh.to_stripe()
    session = apis.peer.get(f"/v1/checkout/sessions/{url.rsplit('/', 1)[1]}")
    assert session["locale"] == "zh" and session["customer"] is None
    assert "银行卡" in zh.browser.get(f"/lines/{zh.line.id}/topup").text

    plain = Traveller(world, apis, savers=False)
    shown = summary(plain.browser, plain.line, kind="topup", amount="10000",
                    method="stripe_checkout")
    assert SAVE_EN not in shown.text, "nothing could charge a kept card: not offered"
    url = plain.to_stripe(save_card="yes")  # a forged box is ignored
    assert apis.peer.get(f"/v1/checkout/sessions/{url.rsplit('/', 1)[1]}")["customer"] is None
