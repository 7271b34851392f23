"""Pools the SM-DP+ fills at the sale, over ES2+ to the loopback SM-DP+: a buyer with no
profile in stock gets one ordered (downloadOrder, then confirmOrder released at once); a
reservation given back keeps it in stock for the next buyer; when the SM-DP+ has none left
the buyer is told it is sold out; a sale that fails after the order cancels it there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import select

from tests.factories import Api, iccid
from tests.integration.esim.smdp_peer import SmdpPeer, serve
from tests.integration.esim.test_store import pay, plan_id
from topup.db.uow import Database
from topup.esim import store
from topup.esim.ondemand import OnDemand, from_settings
from topup.esim.tables import esim_profiles
from topup.payments.providers.sandbox import SandboxProvider


@pytest.fixture
def smdp() -> Iterator[tuple[SmdpPeer, str]]:
    peer = SmdpPeer(address="smdp.ondemand.test")
    server = serve(peer)
    try:
        yield peer, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture
def shop(catalogue: Database, smdp: tuple[SmdpPeer, str]) -> Api:
    db = catalogue
    db.settings = replace(db.settings, smdp_url=smdp[1], smdp_requester="operator.test",
                          smdp_address="smdp.ondemand.test",
                          esim_on_demand=(("travel-jp", "JP"),))
    api = Api(db, {"sandbox": SandboxProvider(db, db.settings.secret_key, "http://testserver")})
    supplier = from_settings(db.settings)
    assert isinstance(supplier, OnDemand)
    api.client.app.state.esim_supplier = supplier  # type: ignore[attr-defined]
    return api


def functions(peer: SmdpPeer) -> list[str]:
    return [s.path.rsplit("/", 1)[1] for s in peer.seen]


def test_an_empty_on_demand_pool_orders_a_profile_at_the_sale(
        shop: Api, smdp: tuple[SmdpPeer, str], clock) -> None:
    peer, _ = smdp
    first, second = iccid(), iccid()
    peer.add(first, "travel-jp")
    peer.add(second, "travel-jp")
    offers = shop.client.get("/api/v1/store/offers?country=JP&currency=JPY").json()
    assert offers and all(o["in_stock"] for o in offers)
    assert peer.seen == []  # looking orders nothing
    _, me = shop.as_new()
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    made = shop.post("/api/v1/store/orders", me, key="a", json=body)
    assert made.status_code == 201, made.text
    assert functions(peer) == ["downloadOrder", "confirmOrder"]
    assert peer.seen[0].body["profileType"] == "travel-jp"
    assert peer.seen[1].body["releaseFlag"] is True
    sold = made.json()["esim"]["iccid"]
    assert sold in (first, second) and peer.profiles[sold].state == "Released"
    pay(shop, made.json()["order"])
    got = shop.client.get(f"/api/v1/store/orders/{made.json()['order']['id']}",
                          headers=me).json()
    assert got["esim"]["activation_code"] == \
        f"LPA:1$smdp.ondemand.test${peer.profiles[sold].matching_id}"

    # an unpaid reservation keeps its ordered profile in stock: the next buyer gets it
    _, other = shop.as_new()
    unpaid = shop.post("/api/v1/store/orders", other, key="b", json=body).json()
    clock.advance(minutes=shop.db.settings.payment_ttl_minutes + 6)
    assert store.sweep(shop.db) == 1
    seen = len(peer.seen)
    _, third = shop.as_new()
    again = shop.post("/api/v1/store/orders", third, key="c", json=body).json()
    assert again["esim"]["iccid"] == unpaid["esim"]["iccid"] and len(peer.seen) == seen

    # the SM-DP+ has none left: sold out, nothing kept
    _, fourth = shop.as_new()
    out = shop.post("/api/v1/store/orders", fourth, key="d", json=body)
    assert out.status_code == 409 and out.json()["code"] == "esim_out_of_stock"
    with shop.db.unit(readonly=True) as uow:
        assert len(uow.conn.execute(select(esim_profiles)).all()) == 2


def test_a_sale_that_fails_after_the_order_cancels_it_at_the_smdp(
        shop: Api, smdp: tuple[SmdpPeer, str]) -> None:
    peer, _ = smdp
    wanted = iccid()
    peer.add(wanted, "travel-jp")
    _, me = shop.as_new()
    # the payment provider fails after the profile was ordered (the price and the plan are
    # checked before anything is taken)
    broken = SandboxProvider(shop.db, shop.db.settings.secret_key, "http://testserver")

    def refuse(*_: object) -> object:
        from topup.payments.errors import ProviderUnavailable

        raise ProviderUnavailable("the sandbox is down")

    broken.start = refuse  # type: ignore[method-assign]
    shop.client.app.state.payment_providers["sandbox"] = broken  # type: ignore[attr-defined]
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    r = shop.post("/api/v1/store/orders", me, key="x", json=body)
    assert r.status_code == 502
    assert functions(peer) == ["downloadOrder", "confirmOrder", "cancelOrder"]
    assert peer.profiles[wanted].state == "Available"
    with shop.db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(esim_profiles)).all() == []
