"""Saved cards for auto-renew through Stripe, against localstripe on 127.0.0.1: the test plays
the payer's browser confirming a SetupIntent, then the platform charges the saved card
off-session for an order and settles it through the normal ledger path."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import inspect, text

from tests.factories import Api, make_line
from tests.integration.payments.stripe_peer import PUBLISHABLE_KEY, SECRET_KEY, StripePeer
from topup.db.uow import Database
from topup.errors import NotFound
from topup.orders.model import Order
from topup.orders.service import get_order
from topup.payments.errors import ProviderUnavailable
from topup.payments.interfaces import PaymentRequest
from topup.payments.providers.stripe import StripeProvider
from topup.payments.providers.stripe import from_settings as provider_from_settings
from topup.payments.providers.stripe.saved import StripeSavedMethods, from_settings
from topup.payments.registry import ProviderContext
from topup.payments.saved.interfaces import SavesMethods

WEBHOOK_SECRET = "whsec_saved_methods_peer"
CARD = "4242424242424242"
DECLINES_ON_CHARGE = "4000000000000341"
BASE = "/api/v1/payment-methods"


def _adapted(original: Any) -> Any:
    """localstripe predates two things the SDK's API version sends: rename/drop them."""
    async def get_post_data(request: web.Request, **kw: Any) -> Any:
        data = await original(request, **kw)
        if isinstance(data, dict):
            if request.path == "/v1/setup_intents" and "allowed_payment_method_types" in data:
                data["payment_method_types"] = data.pop("allowed_payment_method_types")
            if re.fullmatch(r"/v1/payment_intents/\w+/confirm", request.path):
                data.pop("off_session", None)  # localstripe's confirm does not know it
        return data
    return get_post_data


@pytest.fixture(scope="module")
def peer() -> Iterator[StripePeer]:
    from localstripe import server as ls_server

    original = ls_server.get_post_data
    ls_server.get_post_data = _adapted(original)
    running = StripePeer().start()
    yield running
    running.stop()
    ls_server.get_post_data = original


def env_for(peer: StripePeer) -> dict[str, str]:
    return {"TOPUP_STRIPE_SECRET_KEY": SECRET_KEY, "TOPUP_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "TOPUP_STRIPE_WEBHOOK_SECRETS": WEBHOOK_SECRET, "TOPUP_STRIPE_API_BASE": peer.url,
            "TOPUP_STRIPE_TIMEOUT_SECONDS": "5", "TOPUP_STRIPE_MAX_RETRIES": "0"}


def ctx(env: dict[str, str]) -> ProviderContext:
    return ProviderContext(env, None, None)  # type: ignore[arg-type]


class Shop:
    """A traveller with a bound line, on an app with the payment-methods router mounted."""

    def __init__(self, db: Database, peer: StripePeer) -> None:
        self.db, self.peer = db, peer
        self.provider: StripeProvider = provider_from_settings(ctx(env_for(peer)))
        self.saver: StripeSavedMethods = from_settings(ctx(env_for(peer)))
        self.api = Api(db, {"stripe": self.provider})
        app: Any = self.api.client.app
        app.state.saved_methods = {"stripe": self.saver}
        self.user, self.me = self.api.as_new()
        self.line_id = self.bind(self.me)

    def bind(self, headers: dict[str, str]) -> int:
        line = make_line(self.db, secret="2718")
        r = self.api.client.post("/api/v1/lines/bind", headers=headers,
                                 json={"identifier": line.iccid, "secret": "2718"})
        assert r.status_code == 200, r.text
        return line.id

    def save_card(self, headers: dict[str, str], number: str = CARD) -> dict[str, Any]:
        """Set up, confirm as the browser does with Stripe.js, and record the card."""
        r = self.api.client.post(f"{BASE}/setup", headers=headers, json={"provider": "stripe"})
        assert r.status_code == 200, r.text
        started = r.json()
        assert started["client_secret"].startswith(f"{started['setup_ref']}_secret_")
        assert started["publishable_key"] == PUBLISHABLE_KEY
        self.browser_confirms(started["setup_ref"], number)
        r = self.api.client.post(BASE, headers=headers, json={
            "provider": "stripe", "setup_ref": started["setup_ref"]})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def browser_confirms(self, setup_ref: str, number: str) -> None:
        method = self.peer.http.post("/v1/payment_methods", data={
            "type": "card", "card[number]": number, "card[exp_month]": "12",
            "card[exp_year]": "2030", "card[cvc]": "719"})
        method.raise_for_status()
        self.peer.http.post(f"/v1/setup_intents/{setup_ref}/confirm", data={
            "payment_method": method.json()["id"]}).raise_for_status()

    def order(self, headers: dict[str, str], line_id: int, key: str, amount: int = 100_00
              ) -> Order:
        r = self.api.post("/api/v1/orders", headers, key=key, json={
            "method": "stripe", "line_id": line_id, "kind": "topup", "amount": amount})
        assert r.status_code == 201, r.text
        assert r.json()["state"] == "awaiting_payment"
        with self.db.unit(readonly=True) as uow:
            return get_order(uow, int(r.json()["id"]))

    def pay(self, o: Order, method_id: int) -> Order:
        from topup.payments.saved.service import pay_with_saved

        return pay_with_saved(self.db, self.saver, self.provider, o, method_id)

    def balance(self, headers: dict[str, str], line_id: int) -> int:
        found = self.api.client.get(f"/api/v1/lines/{line_id}", headers=headers).json()
        return int(found["balances"][0]["balance"]) if found["balances"] else 0

    def listed(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        r = self.api.client.get(BASE, headers=headers)
        assert r.status_code == 200, r.text
        return list(r.json())


@pytest.fixture
def shop(catalogue: Database, peer: StripePeer) -> Shop:
    peer.reset(WEBHOOK_SECRET)
    return Shop(catalogue, peer)


def test_the_stripe_saver_conforms_to_the_port(shop: Shop) -> None:
    assert isinstance(shop.saver, SavesMethods) and shop.saver.name == "stripe"


def test_saved_card_pays_an_order_off_session_and_can_be_removed(shop: Shop) -> None:
    saved = shop.save_card(shop.me)
    assert (saved["provider"], saved["brand"], saved["last4"]) == ("stripe", "visa", "4242")
    assert shop.listed(shop.me) == [saved]
    assert set(saved) == {"id", "provider", "brand", "last4", "created_at"}

    o = shop.order(shop.me, shop.line_id, "saved-1")
    paid = shop.pay(o, saved["id"])
    assert paid.state == "fulfilled" and paid.payment_ref == o.payment_ref
    assert shop.balance(shop.me, shop.line_id) == 100_00
    intent = shop.peer.intent(str(o.payment_ref).split(":", 1)[1])
    assert intent["status"] == "succeeded" and intent["customer"].startswith("cus_")

    again = shop.save_card(shop.me)
    assert again["id"] != saved["id"] and len(shop.listed(shop.me)) == 2
    r = shop.api.client.delete(f"{BASE}/{saved['id']}", headers=shop.me)
    assert r.status_code == 204, r.text
    assert [m["id"] for m in shop.listed(shop.me)] == [again["id"]]
    method_ref = _method_ref(shop.db, saved["id"])
    assert shop.peer.http.get(f"/v1/payment_methods/{method_ref}").json()["customer"] is None
    later = shop.order(shop.me, shop.line_id, "saved-2", amount=50_00)
    with pytest.raises(NotFound):
        shop.pay(later, saved["id"])
    assert shop.api.client.delete(f"{BASE}/{saved['id']}", headers=shop.me).status_code == 404
    assert shop.pay(later, again["id"]).state == "fulfilled", "same customer reused"
    assert shop.balance(shop.me, shop.line_id) == 150_00


def test_a_card_declined_off_session_fails_the_order_and_credits_nothing(shop: Shop) -> None:
    saved = shop.save_card(shop.me, DECLINES_ON_CHARGE)
    assert saved["last4"] == "0341"
    o = shop.order(shop.me, shop.line_id, "saved-declined-1")
    failed = shop.pay(o, saved["id"])
    assert failed.state == "failed"
    assert shop.balance(shop.me, shop.line_id) == 0


def test_another_user_can_neither_see_nor_use_nor_remove_it(shop: Shop) -> None:
    r = shop.api.client.post(f"{BASE}/setup", headers=shop.me, json={"provider": "stripe"})
    setup_ref = r.json()["setup_ref"]
    shop.browser_confirms(setup_ref, CARD)
    _, other = shop.api.as_new()
    r = shop.api.client.post(BASE, headers=other, json={"provider": "stripe",
                                                        "setup_ref": setup_ref})
    assert r.status_code == 404, "someone else's setup is not found"
    r = shop.api.client.post(BASE, headers=shop.me, json={"provider": "stripe",
                                                          "setup_ref": setup_ref})
    assert r.status_code == 201
    mine = r.json()
    assert shop.listed(other) == []
    assert shop.api.client.delete(f"{BASE}/{mine['id']}", headers=other).status_code == 404
    theirs = shop.order(other, shop.bind(other), "other-1")
    with pytest.raises(NotFound):
        shop.pay(theirs, mine["id"])
    assert shop.listed(shop.me) == [mine]
    assert shop.api.client.get(BASE).status_code == 401


def test_a_new_confirmed_intent_and_an_unreachable_stripe(shop: Shop) -> None:
    saved = shop.save_card(shop.me)
    ref = _method_ref(shop.db, saved["id"])
    customer = shop.peer.http.get(f"/v1/payment_methods/{ref}").json()["customer"]
    request = PaymentRequest(99, 30_00, "CNY", "Renewal", "renew-99")
    status = shop.saver.charge_saved(request, customer, ref)
    assert (status.state, status.amount, status.currency) == ("succeeded", 30_00, "CNY")
    assert shop.peer.intent(status.provider_ref)["metadata"] == {"order_id": "99"}
    dead = from_settings(ctx({**env_for(shop.peer), "TOPUP_STRIPE_API_BASE":
                              "http://127.0.0.1:9"}))
    with pytest.raises(ProviderUnavailable):
        dead.charge_saved(request, customer, ref)
    with pytest.raises(ProviderUnavailable):
        dead.begin_saving("1", None)


def test_no_card_number_reaches_the_database(shop: Shop) -> None:
    saved = shop.save_card(shop.me)
    shop.pay(shop.order(shop.me, shop.line_id, "saved-pan-1"), saved["id"])
    spaced = " ".join(CARD[i:i + 4] for i in range(0, 16, 4))
    forbidden = re.compile(rf"{CARD}|{spaced}|\b719\b")
    engine = shop.db.engine
    tables = inspect(engine).get_table_names()
    assert "saved_payment_methods" in tables
    with engine.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608
                for value in row:
                    hit = forbidden.search("" if value is None else str(value))
                    assert hit is None, f"{table} holds card data: {hit.group()!r}"


def _method_ref(db: Database, method_id: int) -> str:
    from topup.payments.saved.tables import saved_payment_methods as spm

    with db.engine.connect() as conn:
        return str(conn.execute(spm.select().where(spm.c.id == method_id)).one().method_ref)


def test_pay_an_order_with_a_saved_card_over_the_api(shop: Shop) -> None:
    card = shop.save_card(shop.me)
    o = shop.order(shop.me, shop.line_id, "api-pay-1")
    url = f"/api/v1/orders/{o.id}/pay-with-saved"
    r = shop.api.client.post(url, headers=shop.me, json={"method_id": card["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "fulfilled"
    assert shop.balance(shop.me, shop.line_id) == 100_00
    again = shop.api.client.post(url, headers=shop.me, json={"method_id": card["id"]})
    assert again.status_code == 422, "a paid order is not charged again"
    _, other = shop.api.as_new()
    assert shop.api.client.post(url, headers=other,
                                json={"method_id": card["id"]}).status_code == 404
