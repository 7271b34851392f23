"""Bank transfer end to end: a traveller orders a top-up by bank transfer, finance imports the
bank's statements (camt.053 and CSV), exact payments settle their orders once, and everything
else waits in the review queue, crediting nothing until finance resolves it.

The RF references in ``bank_samples/`` are those of orders 1, 2, 3… under the test secret key;
every test starts from an empty database, so its orders get exactly those ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy import select
from stdnum import iso11649

from tests.factories import Api, make_line, make_user
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.orders.service import get_order, late_payment_key, settle_payment
from topup.orders.tables import order_events
from topup.payments.errors import InvalidNotification, RefundFailed
from topup.payments.interfaces import PaymentProvider, PaymentRequest, PaymentStatus
from topup.payments.providers import bank as bank_package
from topup.payments.registry import ProviderConfigError, ProviderContext
from topup.payments.service import reconcile
from topup.subscribers.lines import get_line

SAMPLES = Path(__file__).parent / "bank_samples"
ENV = {"TOPUP_BANK_ACCOUNT_NAME": "Wanderlust Mobile GmbH",
       "TOPUP_BANK_IBAN": "de89 3704 0044 0532 0130 00", "TOPUP_BANK_BIC": "COBADEFFXXX",
       "TOPUP_BANK_NAME": "Commerzbank"}
IBAN = "DE89370400440532013000"
REF = {1: "RF380000000001378049", 2: "RF950000000002392613", 3: "RF840000000003670883",
       4: "RF710000000004384164", 5: "RF940000000005049364"}


@pytest.fixture
def bank() -> ModuleType:
    """The bank provider package (its tables come with the migrations)."""
    return bank_package


@pytest.fixture
def provider(bank: ModuleType, catalogue: Database) -> Any:
    return bank.from_settings(ProviderContext(env=ENV, settings=catalogue.settings,
                                              db=catalogue))


@dataclass
class Shop:
    """A traveller with a EUR line, logged in to the API that offers bank transfer."""

    api: Api
    me: dict[str, str]
    line_id: int
    db: Database
    bank: ModuleType
    provider: Any

    def order(self, amount: int, *, confirm: bool = False) -> dict[str, Any]:
        r = self.api.post("/api/v1/orders", self.me, key=f"bank-{amount}-{confirm}", json={
            "line_id": self.line_id, "kind": "topup", "amount": amount, "method": "bank",
            "confirm_duplicate": confirm})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def state(self, order_id: int) -> str:
        r = self.api.client.get(f"/api/v1/orders/{order_id}", headers=self.me)
        return str(r.json()["state"])

    def balance(self) -> int:
        found = self.api.client.get(f"/api/v1/lines/{self.line_id}",
                                    headers=self.me).json()["balances"]
        return int(found[0]["balance"]) if found else 0

    def import_(self, name: str, fmt: str = "camt053", data: bytes | None = None) -> Any:
        raw = data if data is not None else (SAMPLES / name).read_bytes()
        return self.bank.import_statement(self.db, self.provider, raw, fmt)

    def reasons(self) -> list[str]:
        return sorted(item.reason for item in self.bank.review_queue(self.db))


@pytest.fixture
def shop(catalogue: Database, bank: ModuleType, provider: Any) -> Shop:
    api = Api(catalogue, {"bank": provider})
    line = make_line(catalogue, currency="EUR", country="DE", secret="2718")
    _, me = api.as_new()
    r = api.client.post("/api/v1/lines/bind", headers=me,
                        json={"identifier": line.iccid, "secret": "2718"})
    assert r.status_code < 300, r.text
    return Shop(api, me, line.id, catalogue, bank, provider)


def test_bank_provider_conforms_to_the_port(provider: Any) -> None:
    assert isinstance(provider, PaymentProvider)
    assert (provider.name, provider.test_mode) == ("bank", False)


def test_settings_need_a_valid_account(bank: ModuleType, catalogue: Database) -> None:
    def build(**changes: str) -> Any:
        env = {k: v for k, v in (ENV | changes).items() if v}
        return bank.from_settings(ProviderContext(env=env, settings=catalogue.settings,
                                                  db=catalogue))

    assert build().account.iban == IBAN
    for name in ("TOPUP_BANK_IBAN", "TOPUP_BANK_ACCOUNT_NAME"):
        with pytest.raises(ProviderConfigError, match=name):
            build(**{name: ""})
    with pytest.raises(ProviderConfigError, match="TOPUP_BANK_IBAN"):
        build(TOPUP_BANK_IBAN="DE88370400440532013000")  # check digits off by one
    with pytest.raises(ProviderConfigError, match="TOPUP_BANK_BIC"):
        build(TOPUP_BANK_BIC="COBA")
    assert build(TOPUP_BANK_BIC="", TOPUP_BANK_NAME="").account.bic == ""


def test_traveller_orders_a_bank_transfer(shop: Shop) -> None:
    o = shop.order(20_00)
    assert o["state"] == "awaiting_payment" and o["method"] == "bank"
    assert o["next_action"]["kind"] == "bank_reference"
    assert o["next_action"]["value"] == REF[o["id"]] and iso11649.is_valid(REF[o["id"]])
    assert o["next_action"]["extra"] == {
        "iban": IBAN, "bic": "COBADEFFXXX", "account_name": "Wanderlust Mobile GmbH",
        "bank_name": "Commerzbank", "amount": "20.00", "currency": "EUR"}
    again = shop.provider.start(PaymentRequest(o["id"], 20_00, "EUR", "Top-up", "retry"))
    assert again.provider_ref == REF[o["id"]]  # stable per order, whatever the retry key


def test_an_exact_camt053_payment_fulfils_the_order_once(shop: Shop) -> None:
    o = shop.order(20_00)
    assert shop.provider.query(REF[1]) == PaymentStatus(REF[1], "pending", 20_00, "EUR")
    result = shop.import_("camt053_001_02_exact.xml")
    assert (result.payments, result.credited, result.review, result.skipped) == (1, 1, 0, 2)
    assert result.credited_orders == (o["id"],)
    assert shop.state(o["id"]) == "fulfilled" and shop.balance() == 20_00
    assert shop.provider.query(REF[1]).state == "succeeded"
    with shop.db.unit(readonly=True) as uow:  # made in one transaction, paid in another
        history = uow.conn.execute(select(
            order_events.c.from_state, order_events.c.to_state, order_events.c.note).where(
            order_events.c.order_id == o["id"]).order_by(order_events.c.id)).all()
    assert [tuple(e) for e in history] == [
        (None, "awaiting_payment", "bank"), ("awaiting_payment", "paid", "clearing:bank"),
        ("paid", "fulfilled", None)], history
    again = shop.import_("camt053_001_02_exact.xml")
    assert (again.already_imported, again.credited, again.review) == (1, 0, 0)
    assert shop.balance() == 20_00 and shop.reasons() == []


def test_a_csv_statement_matches_by_reference_then_by_unique_amount(shop: Shop) -> None:
    first, second = shop.order(20_00), shop.order(35_00)
    result = shop.import_("statement.csv", "csv")
    assert (result.payments, result.credited, result.skipped) == (2, 2, 1)
    assert [shop.state(o["id"]) for o in (first, second)] == ["fulfilled", "fulfilled"]
    assert shop.balance() == 55_00
    t = shop.bank.tables.bank_statement_entries
    with shop.db.unit(readonly=True) as uow:
        rows = uow.conn.execute(select(t.c.order_id, t.c.matched_by, t.c.payer_name)
                                .order_by(t.c.id)).all()
    assert [tuple(r) for r in rows] == [(first["id"], "reference", "Lena Fischer"),
                                        (second["id"], "amount", "Marco Rossi")]
    assert shop.import_("statement.csv", "csv").already_imported == 2
    assert shop.balance() == 55_00


def _review_day(shop: Shop) -> list[dict[str, Any]]:
    """Orders 1-5 as the review sample expects them; order 5 failed before its money came
    (its exact 15.00 EUR is then a late payment, credited to the wallet like any other)."""
    made = [shop.order(amount) for amount in (50_00, 25_00, 40_00, 10_00, 15_00)]
    with shop.db.unit() as uow:
        settle_payment(uow, f"bank:{REF[5]}", PaymentStatus(REF[5], "failed", 15_00, "EUR"))
    return made


def test_irregular_payments_wait_for_finance_and_credit_nothing(shop: Shop) -> None:
    made = _review_day(shop)
    result = shop.import_("camt053_001_08_review.xml")
    assert (result.payments, result.credited, result.review) == (7, 2, 5)
    assert shop.reasons() == ["currency_mismatch", "duplicate", "overpaid", "partial",
                              "unmatched"]
    assert [shop.state(o["id"]) for o in made] == [
        "awaiting_payment", "awaiting_payment", "awaiting_payment", "fulfilled", "failed"]
    assert shop.balance() == 10_00 + 15_00
    by_reason = {i.reason: i for i in shop.bank.review_queue(shop.db)}
    assert by_reason["partial"].order_id == made[0]["id"]
    assert by_reason["partial"].detail == "paid 30.00 EUR of 50.00 EUR for order 1"
    assert by_reason["partial"].payer_name == "Lena Fischer"
    assert by_reason["unmatched"].order_id is None
    assert by_reason["unmatched"].remittance == "Rechnung 2026-118 Danke"
    assert by_reason["currency_mismatch"].money.currency == "USD"
    again = shop.import_("camt053_001_08_review.xml")
    assert (again.already_imported, again.credited, again.review) == (7, 0, 0)
    assert len(shop.reasons()) == 5 and shop.balance() == 10_00 + 15_00


def test_finance_dismisses_but_cannot_credit_an_inexact_payment(shop: Shop) -> None:
    made = _review_day(shop)
    shop.import_("camt053_001_08_review.xml")
    finance = make_user(shop.db, "admin")
    by_reason = {i.reason: i for i in shop.bank.review_queue(shop.db)}
    for reason in ("partial", "overpaid", "currency_mismatch", "duplicate"):
        with pytest.raises(shop.bank.ReviewNotResolvable):
            shop.bank.resolve_review(shop.db, by_reason[reason].id, "credit_order",
                                     finance.id, "try")
    with pytest.raises(InvalidInput):
        shop.bank.resolve_review(shop.db, by_reason["partial"].id, "dismiss", finance.id, " ")
    with pytest.raises(shop.bank.ReviewItemNotFound):
        shop.bank.resolve_review(shop.db, 9999, "dismiss", finance.id, "no such item")
    done = shop.bank.resolve_review(shop.db, by_reason["partial"].id, "dismiss", finance.id,
                                    "paid back 30.00 EUR to the payer on 2026-11-25")
    assert (done.state, done.resolved_by, done.note) == (
        "dismissed", finance.id, "paid back 30.00 EUR to the payer on 2026-11-25")
    assert "partial" not in shop.reasons() and shop.state(made[0]["id"]) == "awaiting_payment"
    with pytest.raises(shop.bank.ReviewNotResolvable, match="already dismissed"):
        shop.bank.resolve_review(shop.db, done.id, "dismiss", finance.id, "again")
    assert shop.balance() == 10_00 + 15_00


def test_a_mistyped_reference_matches_nothing_until_finance_credits_it(shop: Shop) -> None:
    first, second = shop.order(20_00), shop.order(20_00, confirm=True)
    third, fourth = shop.order(12_00), shop.order(18_00)
    result = shop.import_("camt053_001_02_typo_and_batch.xml")
    assert (result.payments, result.credited, result.review) == (3, 2, 1)
    assert sorted(result.credited_orders) == [third["id"], fourth["id"]]
    [item] = shop.bank.review_queue(shop.db)
    assert item.reason == "unmatched" and item.reference is None
    assert item.remittance == "Aufladung RF39 0000 0000 0137 8049"
    assert "several orders await 20.00 EUR" in item.detail
    assert shop.state(first["id"]) == shop.state(second["id"]) == "awaiting_payment"
    finance = make_user(shop.db, "admin")
    with pytest.raises(shop.bank.ReviewNotResolvable, match="name the order"):
        shop.bank.resolve_review(shop.db, item.id, "credit_order", finance.id, "typo")
    with pytest.raises(shop.bank.ReviewNotResolvable, match="fulfilled"):
        shop.bank.resolve_review(shop.db, item.id, "credit_order", finance.id, "typo",
                                 order_id=third["id"])
    done = shop.bank.resolve_review(shop.db, item.id, "credit_order", finance.id,
                                    "payer mistyped RF38 as RF39", order_id=first["id"])
    assert (done.state, done.order_id, done.resolved_by) == ("credited", first["id"],
                                                              finance.id)
    assert shop.state(first["id"]) == "fulfilled" and shop.state(second["id"]) != "fulfilled"
    assert shop.provider.query(REF[1]).state == "succeeded"
    assert shop.balance() == 50_00 and shop.reasons() == []
    with pytest.raises(shop.bank.ReviewNotResolvable):
        shop.bank.resolve_review(shop.db, item.id, "credit_order", finance.id, "twice",
                                 order_id=first["id"])
    assert shop.balance() == 50_00


def test_unsafe_or_foreign_statements_are_refused_whole(shop: Shop) -> None:
    o = shop.order(20_00)
    with pytest.raises(shop.bank.StatementRejected, match="DTD"):
        shop.import_("camt053_doctype.xml")
    exact = (SAMPLES / "camt053_001_02_exact.xml").read_bytes()
    foreign = exact.replace(IBAN.encode(), b"GB82WEST12345698765432")
    with pytest.raises(shop.bank.StatementRejected, match="GB82WEST12345698765432"):
        shop.import_("", data=foreign)
    with pytest.raises(shop.bank.StatementRejected, match="format"):
        shop.import_("camt053_001_02_exact.xml", "mt940")
    assert shop.state(o["id"]) == "awaiting_payment" and shop.balance() == 0
    assert shop.reasons() == []


def test_no_notifications_and_refunds_are_paid_by_finance(shop: Shop) -> None:
    o = shop.order(20_00)
    r = shop.api.client.post("/api/v1/webhooks/bank", content=b"{}",
                             headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_notification"
    with pytest.raises(InvalidNotification, match="import a statement"):
        shop.provider.parse_notification({}, b"")
    shop.import_("camt053_001_02_exact.xml")
    with pytest.raises(RefundFailed, match="finance"):
        shop.provider.refund(REF[o["id"]], 20_00, "EUR", "refund-1")
    _, staff = shop.api.as_new("admin")
    r = shop.api.post(f"/api/v1/admin/orders/{o['id']}/refunds", staff, key="refund-2",
                      json={"reason": "traveller cancelled the trip"})
    assert r.status_code == 502 and r.json()["code"] == "refund_failed"
    assert "manual transfer" in r.json()["detail"]
    assert shop.balance() == 20_00 and shop.state(o["id"]) == "fulfilled"


def test_an_unpaid_bank_order_expires_and_its_late_money_follows_the_policy(
        shop: Shop, clock: FrozenClock) -> None:
    o = shop.order(20_00)
    passed = reconcile(shop.db, {"bank": shop.provider}, older_than=timedelta(0))
    assert (passed.checked, passed.settled, passed.errors, passed.expired) == (1, 0, 0, 0)
    clock.advance(days=shop.db.settings.bank_payment_ttl_days + 1)
    assert reconcile(shop.db, {"bank": shop.provider}).expired == 1
    result = shop.import_("camt053_001_02_exact.xml")
    assert (result.credited, result.review, result.credited_orders) == (1, 0, (o["id"],))
    assert shop.reasons() == []
    with shop.db.unit(readonly=True) as uow:
        assert get_order(uow, o["id"]).state == "expired"
        assert ledger.wallets(uow, shop.line_id)["EUR"].posted == 20_00
        assert ledger.find_transfer(uow, late_payment_key(o["id"])) is not None
    assert shop.import_("camt053_001_02_exact.xml").already_imported == 1
    with shop.db.unit(readonly=True) as uow:
        assert ledger.wallets(uow, shop.line_id)["EUR"].posted == 20_00, "once"


def test_finance_records_a_refund_paid_by_hand(shop: Shop) -> None:
    o = shop.order(25_00)
    with shop.db.unit() as uow:
        settle_payment(uow, f"bank:{REF[o['id']]}", PaymentStatus(REF[o["id"]], "succeeded",
                                                                  25_00, "EUR"))
    staff = shop.api.login(str(make_user(shop.db, "admin").email))
    url = f"/api/v1/admin/orders/{o['id']}/refunds/paid-out"
    body = {"amount": 10_00, "reason": "trip cancelled; transferred back by finance"}
    first = shop.api.post(url, staff, key="payout-1", json=body)
    again = shop.api.post(url, staff, key="payout-1", json=body)
    assert first.status_code == again.status_code == 201
    assert first.json()["state"] == "succeeded" and again.json()["id"] == first.json()["id"]
    with shop.db.unit() as uow:
        assert ledger.wallets(uow, shop.line_id)["EUR"].posted == 15_00
    too_much = shop.api.post(url, staff, key="payout-2", json={**body, "amount": 20_00})
    assert too_much.status_code == 422


def test_finance_tops_up_a_wallet_with_a_payment_that_fits_no_order(shop: Shop) -> None:
    made = _review_day(shop)
    shop.import_("camt053_001_08_review.xml")
    finance = make_user(shop.db, "admin")
    by_reason = {i.reason: i for i in shop.bank.review_queue(shop.db)}
    partial, unmatched = by_reason["partial"], by_reason["unmatched"]
    with pytest.raises(shop.bank.ReviewNotResolvable, match="name the line"):
        shop.bank.resolve_review(shop.db, unmatched.id, "credit_wallet", finance.id, "who?")
    done = shop.bank.resolve_review(shop.db, partial.id, "credit_wallet", finance.id,
                                    "payer asked to keep the 30.00 EUR as credit")
    assert done.state == "credited" and done.order_id not in (None, made[0]["id"])
    assert shop.balance() == 10_00 + 15_00 + 30_00
    assert shop.state(made[0]["id"]) == "awaiting_payment", "the short order stays unpaid"
    topup = shop.api.client.get(f"/api/v1/orders/{done.order_id}", headers=shop.me).json()
    assert (topup["kind"], topup["method"], topup["amount"], topup["fee"], topup["state"]) == (
        "topup", "bank", 30_00, 0, "fulfilled")
    with pytest.raises(shop.bank.ReviewNotResolvable, match="already credited"):
        shop.bank.resolve_review(shop.db, partial.id, "credit_wallet", finance.id, "again")
    with shop.db.unit() as uow:
        iccid = get_line(uow, shop.line_id).iccid
    shop.bank.resolve_review(shop.db, unmatched.id, "credit_wallet", finance.id,
                             "remittance named this SIM", line=iccid)
    assert shop.balance() == 10_00 + 15_00 + 30_00 + unmatched.amount
    assert shop.reasons() == ["currency_mismatch", "duplicate", "overpaid"]
