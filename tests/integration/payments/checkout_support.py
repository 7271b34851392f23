"""What the Stripe Checkout tests share: settings aimed at the local Stripe, the three
Stripe adapters built from them as ``bootstrap`` builds them, handing a signed delivery to
topup's webhook endpoint byte for byte, and a traveller's ``Shop`` (the fixtures are in
``conftest.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.factories import Api, make_line
from tests.integration.payments.stripe_checkout_peer import (
    SECRET_KEY,
    Delivery,
    StripeCheckoutPeer,
)
from topup.db.uow import Database
from topup.orders.model import Order
from topup.orders.service import get_order
from topup.payments.providers import stripe as stripe_pkg
from topup.payments.providers import stripe_checkout
from topup.payments.providers.stripe import saved as stripe_saved
from topup.payments.registry import ProviderContext

WEBHOOK_SECRET = "whsec_checkout_local_peer"
PUBLISHABLE_KEY = "pk_test_topup_checkout_peer"
HOOK = "/api/v1/webhooks/stripe_checkout"
CARD = "4242424242424242"
DECLINED = "4000000000000002"
ALWAYS_AUTHENTICATE = "4000002760003184"  # off-session: authentication_required


def env_for(peer: StripeCheckoutPeer, **extra: str) -> dict[str, str]:
    """TOPUP_STRIPE_* for the peer (no SDK retries: a failure shows at once)."""
    return {"TOPUP_STRIPE_SECRET_KEY": SECRET_KEY, "TOPUP_STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
            "TOPUP_STRIPE_WEBHOOK_SECRETS": "whsec_payment_intents_endpoint",
            "TOPUP_STRIPE_CHECKOUT_WEBHOOK_SECRETS": WEBHOOK_SECRET,
            "TOPUP_STRIPE_API_BASE": peer.url, "TOPUP_STRIPE_TIMEOUT_SECONDS": "5",
            "TOPUP_STRIPE_MAX_RETRIES": "0", **extra}


def ctx(env: dict[str, str]) -> ProviderContext:
    # The Stripe adapters read only ``env``; settings and db are for other providers.
    return ProviderContext(env, None, None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Adapters:
    """The ``stripe`` and ``stripe_checkout`` providers and the ``stripe`` saver, aimed at
    ``peer``."""

    peer: StripeCheckoutPeer
    stripe: Any
    checkout: stripe_checkout.StripeCheckoutProvider
    saver: stripe_saved.StripeSavedMethods

    @property
    def providers(self) -> dict[str, Any]:
        return {"stripe": self.stripe, "stripe_checkout": self.checkout}

    @property
    def savers(self) -> dict[str, Any]:
        return {"stripe": self.saver}


def adapters(peer: StripeCheckoutPeer, **extra: str) -> Adapters:
    env = env_for(peer, **extra)
    return Adapters(peer, stripe_pkg.from_settings(ctx(env)),
                    stripe_checkout.from_settings(ctx(env)), stripe_saved.from_settings(ctx(env)))


def forward(client: Any, d: Delivery) -> Any:
    """POST the delivery to topup's endpoint as Stripe sent it (hop-by-hop headers dropped)."""
    return client.post(HOOK, content=d.body, headers=d.headers)


def path_of(url: str) -> str:
    """``/pay/return/7?t=…`` of an absolute return URL (for a TestClient)."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


class Shop:
    """A traveller with a bound line on an API that takes cards through both Stripe flows."""

    def __init__(self, db: Database, peer: StripeCheckoutPeer, apis: Adapters) -> None:
        self.db, self.peer, self.apis = db, peer, apis
        self.api = Api(db, apis.providers)
        self.api.client.app.state.saved_methods = apis.savers  # type: ignore[attr-defined]
        self.user, self.me = self.api.as_new()
        line = make_line(db, secret="2718", country="TH")
        r = self.api.client.post("/api/v1/lines/bind", headers=self.me,
                                 json={"identifier": line.iccid, "secret": "2718"})
        assert r.status_code == 200, r.text
        self.line_id = line.id

    def order(self, key: str, amount: int = 100_00) -> dict[str, Any]:
        r = self.api.post("/api/v1/orders", self.me, key=key, json={
            "method": "stripe_checkout", "line_id": self.line_id, "kind": "topup",
            "amount": amount})
        assert r.status_code == 201, r.text
        made = dict(r.json())
        assert made["state"] == "awaiting_payment"
        assert made["next_action"]["kind"] == "redirect"
        return made

    def session_of(self, o: dict[str, Any]) -> str:
        with self.db.unit(readonly=True) as uow:
            ref = str(get_order(uow, int(o["id"])).payment_ref)
        assert ref.startswith("stripe_checkout:cs_test_")
        return ref.split(":", 1)[1]

    def get(self, o: dict[str, Any]) -> Order:
        with self.db.unit(readonly=True) as uow:
            return get_order(uow, int(o["id"]))

    def balance(self) -> int:
        found = self.api.client.get(f"/api/v1/lines/{self.line_id}", headers=self.me).json()
        return sum(int(b["balance"]) for b in found["balances"])
