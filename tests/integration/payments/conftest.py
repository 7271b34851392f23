"""Fixtures of the Stripe Checkout tests: the local Stripe (one per test module), the Stripe
adapters aimed at it (the peer emptied for each test), and a traveller's shop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.payments.checkout_support import WEBHOOK_SECRET, Adapters, Shop, adapters
from tests.integration.payments.stripe_checkout_peer import StripeCheckoutPeer
from topup.db.uow import Database


@pytest.fixture(scope="module")
def checkout_peer() -> Iterator[StripeCheckoutPeer]:
    running = StripeCheckoutPeer().start()
    yield running
    running.stop()


@pytest.fixture
def checkout_apis(checkout_peer: StripeCheckoutPeer) -> Adapters:
    checkout_peer.reset()
    checkout_peer.add_endpoint(None, WEBHOOK_SECRET)  # the test hands deliveries over
    return adapters(checkout_peer)


@pytest.fixture
def card_shop(catalogue: Database, checkout_peer: StripeCheckoutPeer,
              checkout_apis: Adapters) -> Shop:
    return Shop(catalogue, checkout_peer, checkout_apis)
