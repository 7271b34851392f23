"""One settlement path: money that arrives for an order already given up follows the
operator's late-payment policy the same way whether a provider's notification or a bank
statement brought it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.factories import Api, make_line
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.orders.refunds import order_refunds
from topup.orders.service import get_order
from topup.payments.providers import bank
from topup.payments.providers.sandbox import SandboxProvider
from topup.payments.registry import ProviderContext
from topup.payments.service import reconcile

SAMPLES = Path(__file__).parent / "bank_samples"
ENV = {"TOPUP_BANK_ACCOUNT_NAME": "Wanderlust Mobile GmbH",
       "TOPUP_BANK_IBAN": "DE89370400440532013000"}


def story(db: Database, clock: FrozenClock) -> dict[str, tuple[int, int]]:
    """A bank order (order 1, paid by the sample statement) and a sandbox order, both of
    20.00 EUR, both given up, both paid afterwards; (order id, line id) per source."""
    sandbox = SandboxProvider(db, db.settings.secret_key, "http://testserver")
    by_bank = bank.from_settings(ProviderContext(env=ENV, settings=db.settings, db=db))
    api = Api(db, {"bank": by_bank, "sandbox": sandbox})
    _, me = api.as_new()
    made: dict[str, tuple[int, int]] = {}
    for method, secret in (("bank", "2718"), ("sandbox", "3141")):
        line = make_line(db, currency="EUR", country="DE", secret=secret)
        api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": secret})
        r = api.post("/api/v1/orders", me, key=method, json={
            "line_id": line.id, "kind": "topup", "amount": 20_00, "method": method})
        assert r.status_code == 201, r.text
        made[method] = (int(r.json()["id"]), line.id)
    assert made["bank"][0] == 1, "the sample statement pays order 1"
    clock.advance(days=db.settings.bank_payment_ttl_days + 1)
    assert reconcile(db, {"bank": by_bank, "sandbox": sandbox}).expired == 2
    ref = str(r.json()["next_action"]["value"]).rsplit("/", 1)[1]
    api.client.post(f"/sandbox/pay/{ref}/approve")  # the notification comes late
    bank.import_statement(db, by_bank, (SAMPLES / "camt053_001_02_exact.xml").read_bytes(),
                          "camt053")  # and so does the transfer
    return made


@pytest.mark.parametrize("policy", ["credit", "refund"])
def test_a_late_bank_payment_follows_the_policy_like_a_notification(
        catalogue: Database, clock: FrozenClock, policy: str) -> None:
    db = Database(catalogue.engine, replace(catalogue.settings, late_payment_policy=policy),
                  clock)
    made = story(db, clock)
    with db.unit(readonly=True) as uow:
        for source, (order_id, line_id) in made.items():
            assert get_order(uow, order_id).state == "expired", source
            refunds = order_refunds(uow, order_id)
            wallet = ledger.wallets(uow, line_id)["EUR"].posted
            if policy == "credit":
                assert (refunds, wallet) == ([], 20_00), source
                continue
            [refund] = refunds  # the policy was applied: a refund of all of it was tried
            assert refund.amount == 20_00, source
    if policy == "refund":
        with db.unit(readonly=True) as uow:
            sandbox_refund = order_refunds(uow, made["sandbox"][0])[0]
            bank_refund = order_refunds(uow, made["bank"][0])[0]
            assert sandbox_refund.state == "succeeded"
            assert ledger.wallets(uow, made["sandbox"][1])["EUR"].posted == 0
            # A bank cannot pay back by itself: the refund is on record as failed for
            # finance, and the money waits in the wallet until they transfer it back.
            assert bank_refund.state == "failed" and "manual" in (bank_refund.failure or "")
            assert ledger.wallets(uow, made["bank"][1])["EUR"].posted == 20_00
