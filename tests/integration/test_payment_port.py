"""The order side of the payment port: an order waits for its provider, and a verified report
settles it exactly once. The provider here is a local conforming implementation of the port;
the providers' own tests live in tests/integration/payments/."""

from __future__ import annotations

import pytest

from tests.factories import Api, make_line, make_user
from topup.catalog import service as catalog
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.orders import service as orders
from topup.orders.errors import PaymentMismatch
from topup.orders.model import OrderRequest
from topup.payments.interfaces import (
    NextAction,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
)


class LocalProvider:
    """Remembers what it was asked and answers with a redirect (start and query only: that is
    all the order side calls)."""

    name = "localpay"
    currencies = None  # any currency
    test_mode = True

    def __init__(self) -> None:
        self.requests: list[PaymentRequest] = []

    def start(self, request: PaymentRequest) -> PaymentStart:
        self.requests.append(request)
        ref = f"pay_{request.order_id}"
        return PaymentStart(ref, NextAction("redirect", f"https://pay.invalid/{ref}"))

    def query(self, provider_ref: str) -> PaymentStatus:
        req = next(r for r in self.requests if f"pay_{r.order_id}" == provider_ref)
        return PaymentStatus(provider_ref, "succeeded", req.amount, req.currency)


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider()


def test_topup_waits_for_payment_then_settles_once(catalogue: Database,
                                                   provider: LocalProvider) -> None:
    api = Api(catalogue, {"localpay": provider})
    line = make_line(catalogue, secret="6060")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "6060"})
    r = api.post("/api/v1/orders", me, key="pay-1", json={
        "line_id": line.id, "kind": "topup", "amount": 100_00, "method": "localpay"})
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["state"] == "awaiting_payment"
    assert order["next_action"] == {"kind": "redirect", "value": "https://pay.invalid/pay_1",
                                    "extra": {}}
    assert provider.requests[0].idempotency_key == f"order-{order['id']}"
    paid = provider.query("pay_1")
    for _ in range(3):
        with catalogue.unit() as uow:
            settled = orders.settle_payment(uow, "localpay:pay_1", paid)
        assert settled.state == "fulfilled"
    with catalogue.unit() as uow:
        assert ledger.wallets(uow, line.id)["CNY"].posted == 100_00
        with pytest.raises(PaymentMismatch):
            orders.settle_payment(uow, "localpay:pay_1", PaymentStatus("pay_1", "succeeded",
                                                                       1, "CNY"))


def test_plan_paid_by_provider_lands_in_a_bucket(catalogue: Database,
                                                 provider: LocalProvider) -> None:
    line = make_line(catalogue, secret="7070")
    buyer = make_user(catalogue).id
    with catalogue.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "TH-7D-10GB")
        order = orders.create_order(uow, buyer, line, OrderRequest(
            kind="plan", method="localpay", channel="api", plan_id=plan.id), provider=provider)
    with catalogue.unit() as uow:
        done = orders.settle_payment(uow, order.payment_ref or "", provider.query(
            f"pay_{order.id}"))
        assert done.state == "fulfilled" and done.bucket_id is not None
        assert ledger.wallets(uow, line.id)["CNY"].posted == 0, "paid straight into the plan"


def test_failed_payment_fails_the_order_and_a_late_success_is_not_lost(catalogue: Database,
                                                          provider: LocalProvider) -> None:
    line = make_line(catalogue, secret="8080")
    buyer = make_user(catalogue).id
    with catalogue.unit() as uow:
        order = orders.create_order(uow, buyer, line, OrderRequest(
            kind="topup", method="localpay", channel="api", amount=50_00), provider=provider)
    with catalogue.unit() as uow:
        failed = orders.settle_payment(uow, order.payment_ref or "", PaymentStatus(
            f"pay_{order.id}", "failed", 50_00, "CNY"))
        assert failed.state == "failed"
        late = orders.settle_payment(uow, order.payment_ref or "", PaymentStatus(
            f"pay_{order.id}", "succeeded", 50_00, "CNY"))
        assert late.state == "failed"
        assert ledger.wallets(uow, line.id)["CNY"].posted == 50_00, "late money is credited"
        orders.settle_payment(uow, order.payment_ref or "", PaymentStatus(
            f"pay_{order.id}", "succeeded", 50_00, "CNY"))
        assert ledger.wallets(uow, line.id)["CNY"].posted == 50_00, "and only once"
