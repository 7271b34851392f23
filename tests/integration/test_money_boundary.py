"""One boundary for money (issue 11, hole 1 and the money items of hole 9).

Money enters only in currencies the operator sells in, lands only in the line's own currency
(or converted into it at the operator's rate), stays within limits that exist for every
currency, arrives as strict integers, and the ledger refuses any total past its range, in the
service and in the schema, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
import sqlalchemy.exc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import insert, text

from tests.factories import Api, SandboxShop, iccid, make_line, make_user, sandbox_shop
from tests.integration.vouchers.conftest import make_batch
from topup.channels.api.pos import PosTopupIn
from topup.channels.api.terminals import TerminalTopupIn
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.ledger.errors import AmountOutOfRange
from topup.ledger.invariants import check_books
from topup.ledger.tables import MAX_TOTAL, MAX_TRANSFER, transfers
from topup.money import Money
from topup.orders.errors import InvalidOrder
from topup.vouchers import service as vouchers

UNSOLD = ["XTS", "XXX", "XAU"]
PROBLEM = "application/problem+json"
REDEEM = vouchers.RedeemContext(channel="api", ip="198.51.100.7")
_keys = itertools.count(1)


def key() -> str:
    return f"money-{next(_keys)}"


def wallets(db: Database, line_id: int) -> dict[str, int]:
    with db.unit() as uow:
        return {cur: b.posted for cur, b in ledger.wallets(uow, line_id).items()}


def refused(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["code"] == code, r.text


@pytest.fixture
def shop(catalogue: Database) -> SandboxShop:
    """A traveller with a CNY line in Thailand, on the demo catalogue (limits, FX rates)."""
    return sandbox_shop(catalogue, currency="CNY", country="TH")


def order(s: SandboxShop, **body: Any) -> Any:
    base = {"line_id": s.line_id, "kind": "topup", "method": "sandbox",
            "confirm_duplicate": True}
    return s.api.post("/api/v1/orders", s.me, key=key(), json=base | body)


def test_the_reported_request_is_refused_and_nothing_moves(shop: SandboxShop) -> None:
    """Hole 1 as reported: 2^63-1 units of XTS, twice, each payment approved."""
    for _ in range(2):
        r = order(shop, amount=9223372036854775807, currency="XTS")
        assert 400 <= r.status_code < 500 and r.headers["content-type"].startswith(PROBLEM)
        assert "next_action" not in r.json(), "no payment was started to approve"
    r = order(shop, amount=9223372036854775807, currency="CNY")
    refused(r, 422, "validation_failed")
    refused(order(shop, amount=10**15, currency="CNY"), 422, "topup_out_of_limits")
    assert wallets(shop.api.db, shop.line_id) == {}
    with shop.api.db.unit() as uow:
        assert check_books(uow.conn) == []


@pytest.mark.parametrize("currency", UNSOLD)
def test_unsold_currencies_are_refused_everywhere_money_enters(
        shop: SandboxShop, currency: str) -> None:
    api, line = shop.api, shop.line_id
    refused(order(shop, amount=100_00, currency=currency), 422, "currency_not_offered")
    refused(api.client.post("/api/v1/orders/quote", headers=shop.me, json={
        "line_id": line, "kind": "topup", "method": "sandbox", "amount": 100_00,
        "currency": currency}), 422, "currency_not_offered")
    refused(order(shop, amount=100_00, currency="USD", credit_currency=currency), 422,
            "currency_not_offered")
    refused(api.post(f"/api/v1/admin/lines/{line}/credit", shop.staff, key=key(), json={
        "amount": 100_00, "currency": currency, "reason": "cash desk"}), 422,
        "currency_not_offered")
    assert wallets(api.db, line) == {}


@pytest.mark.parametrize("path, body", [
    ("/api/v1/admin/topup-limits", {"zone_code": "GLOBAL", "currency": "XTS",
                                    "min_amount": 1, "max_amount": 100}),
    ("/api/v1/admin/presets/XAU", {"amounts": [100]}),
    ("/api/v1/admin/fx-rates", {"base": "XAU", "quote": "CNY", "rate": "20000"}),
    ("/api/v1/admin/fx-rates", {"base": "USD", "quote": "XXX", "rate": "1"}),
    ("/api/v1/admin/fees", {"currency": "XTS", "fixed": 100}),
    ("/api/v1/admin/plans", {"code": "X-1", "name_en": "x", "name_zh": "x",
                             "zone_code": "TH", "kind": "day", "validity_days": 1,
                             "data_bytes": 1, "prices": {"XTS": 100}}),
])
def test_catalogue_entries_in_unsold_currencies_are_refused(
        shop: SandboxShop, path: str, body: dict[str, Any]) -> None:
    refused(shop.api.client.put(path, headers=shop.staff, json=body), 422,
            "currency_not_offered")


def test_accounts_lines_agents_and_vouchers_take_sold_currencies_only(shop: SandboxShop) -> None:
    api = shop.api
    refused(api.client.post("/api/v1/auth/register", json={
        "email": "xts@example.com", "password": "correct-horse-battery", "currency": "XTS"}),
        422, "currency_not_offered")
    refused(api.client.patch("/api/v1/auth/me", headers=shop.me, json={"currency": "XAU"}),
            422, "currency_not_offered")
    refused(api.client.post("/api/v1/admin/voucher-batches", headers=shop.staff, json={
        "count": 1, "expires_at": "2027-06-01T00:00:00Z", "face_amount": 100_00,
        "currency": "XXX"}), 422, "currency_not_offered")
    assert api.client.put("/api/v1/admin/agent-tiers/std", headers=shop.staff, json={
        "name": "Standard", "topup_bp": 100, "voucher_bp": 100}).status_code == 200
    refused(api.client.post("/api/v1/admin/agents", headers=shop.staff, json={
        "kind": "store", "name": "Gold shop", "tier": "std", "country": "TH",
        "currency": "XAU"}), 422, "currency_not_offered")
    refused(api.client.post("/api/v1/admin/lines", headers=shop.staff, json={
        "iccid": iccid(), "secret": "9375-1046", "currency": "XTS"}), 422,
        "currency_not_offered")


def test_a_cny_line_takes_usd_only_converted_at_the_operator_rate(shop: SandboxShop) -> None:
    refused(order(shop, amount=10_00, currency="USD"), 422, "currency_not_for_line")
    refused(shop.api.post(f"/api/v1/admin/lines/{shop.line_id}/credit", shop.staff, key=key(),
                          json={"amount": 10_00, "currency": "USD", "reason": "cash desk"}),
            422, "currency_not_for_line")
    refused(order(shop, amount=10_00, currency="USD", credit_currency="EUR"), 422,
            "currency_not_for_line")
    assert wallets(shop.api.db, shop.line_id) == {}
    made = order(shop, amount=10_00, currency="USD", credit_currency="CNY")
    assert made.status_code == 201, made.text
    assert (made.json()["credit_currency"], made.json()["credit_amount"]) == ("CNY", 71_00)
    shop.pay(made.json())
    assert wallets(shop.api.db, shop.line_id) == {"CNY": 71_00}


def test_a_usd_card_on_a_cny_line_converts_or_stays_unused(catalogue: Database) -> None:
    """A money voucher brings money like any top-up: into the line's currency, converted."""
    line = make_line(catalogue, country="TH", currency="CNY")
    made = make_batch(catalogue, count=2, face=10_00, currency="USD")
    done = vouchers.redeem(catalogue, made.pins[0], line.id, REDEEM)
    assert done.credited == Money(71_00, "CNY")  # the demo rate: 7.10
    assert wallets(catalogue, line.id) == {"CNY": 71_00}
    with catalogue.unit() as uow:
        assert uow.conn.execute(text("DELETE FROM fx_rates")).rowcount > 0
    with pytest.raises(InvalidOrder):
        vouchers.redeem(catalogue, made.pins[1], line.id, REDEEM)
    assert wallets(catalogue, line.id) == {"CNY": 71_00}
    with catalogue.unit() as uow:
        assert vouchers.check_serial(uow, made.cards[1].serial).state == "active"


@pytest.mark.parametrize("amount", [1000.0, "100", True])
def test_amounts_are_strict_integers(shop: SandboxShop, amount: object) -> None:
    api, staff, line = shop.api, shop.staff, shop.line_id
    refused(order(shop, amount=amount, currency="CNY"), 422, "validation_failed")
    refused(api.post(f"/api/v1/admin/lines/{line}/credit", staff, key=key(), json={
        "amount": amount, "currency": "CNY", "reason": "cash desk"}), 422, "validation_failed")
    refused(api.client.put("/api/v1/admin/topup-limits", headers=staff, json={
        "zone_code": "TH", "currency": "CNY", "min_amount": amount, "max_amount": 100_00}),
        422, "validation_failed")
    refused(api.client.put("/api/v1/admin/presets/CNY", headers=staff,
                           json={"amounts": [amount]}), 422, "validation_failed")
    refused(api.client.post("/api/v1/admin/voucher-batches", headers=staff, json={
        "count": 1, "expires_at": "2027-06-01T00:00:00Z", "face_amount": amount}), 422,
        "validation_failed")
    # The agent POS and terminal bodies (their requests need an agent's login or a signature).
    for model, body in ((PosTopupIn, {"line": "+66812345678"}),
                        (TerminalTopupIn, {"msisdn": "+66812345678", "tender": "cash"})):
        with pytest.raises(ValidationError):
            model.model_validate_json(json.dumps(body | {"amount": amount}))
    assert wallets(api.db, line) == {}


def test_every_currency_has_limits_even_without_a_limit_row(db: Database) -> None:
    """No catalogue at all: no topup_limits rows; the per-currency defaults still hold."""
    s = sandbox_shop(db, currency="GBP", country="GB")
    top = db.settings.topup_max["GBP"]
    refused(order(s, amount=top + 1, currency="GBP"), 422, "topup_out_of_limits")
    assert order(s, amount=top, currency="GBP").status_code == 201
    refused(s.api.post(f"/api/v1/admin/lines/{s.line_id}/credit", s.staff, key=key(), json={
        "amount": top + 1, "currency": "GBP", "reason": "cash desk"}), 422, "topup_out_of_limits")
    assert wallets(db, s.line_id) == {}


def test_staff_credits_have_a_ceiling_above_any_configured_limit(shop: SandboxShop) -> None:
    api = shop.api
    assert api.client.put("/api/v1/admin/topup-limits", headers=shop.staff, json={
        "zone_code": "TH", "currency": "CNY", "min_amount": 1,
        "max_amount": 10**12}).status_code == 204
    ceiling = api.db.settings.manual_credit_max["CNY"]
    refused(api.post(f"/api/v1/admin/lines/{shop.line_id}/credit", shop.staff, key=key(),
                     json={"amount": ceiling + 1, "currency": "CNY", "reason": "goodwill"}),
            422, "topup_out_of_limits")
    assert order(shop, amount=ceiling + 1, currency="CNY").status_code == 201, \
        "a paid top-up follows the configured limit"
    assert wallets(api.db, shop.line_id) == {}


def _set_totals(db: Database, account: int, value: int) -> None:
    with db.unit() as uow:
        uow.conn.execute(text(
            "UPDATE ledger_accounts SET debits_posted = :v, credits_posted = :v WHERE id = :a"),
            {"v": value, "a": account})


def test_the_ledger_refuses_a_transfer_past_an_account_range(shop: SandboxShop) -> None:
    db, line = shop.api.db, shop.line_id
    with db.unit() as uow:
        source = ledger.operator_account(uow, "manual_credit", "money:CNY", line_id=line)
        wallet = ledger.wallet(uow, line, "CNY")
    _set_totals(db, wallet, MAX_TOTAL - 50)
    try:
        refused(shop.api.post(f"/api/v1/admin/lines/{line}/credit", shop.staff, key=key(),
                              json={"amount": 100_00, "currency": "CNY", "reason": "cash"}),
                422, "amount_out_of_range")
        _set_totals(db, source, MAX_TOTAL - 50)
        with db.unit() as uow, pytest.raises(AmountOutOfRange):
            ledger.transfer(uow, "overflow", source, ledger.wallet(uow, 10**6, "CNY"), 100,
                            code="test")
        with db.unit() as uow, pytest.raises(AmountOutOfRange):
            ledger.transfer(uow, "too-big", source, wallet, MAX_TRANSFER + 1, code="test")
        with db.unit() as uow:
            assert ledger.count_transfers(uow) == 0 and ledger.find_transfer(uow, "overflow") \
                is None
    finally:
        _set_totals(db, wallet, 0)
        _set_totals(db, source, 0)


def test_posting_a_reservation_past_the_range_is_refused(db: Database) -> None:
    line = make_line(db)
    with db.unit() as uow:
        source = ledger.operator_account(uow, "manual_credit", "money:CNY")
        wallet = ledger.wallet(uow, line.id, "CNY")
        held = ledger.transfer(uow, "hold", source, wallet, 100, code="test", pending=True)
    _set_totals(db, wallet, MAX_TOTAL - 50)
    try:
        with db.unit() as uow, pytest.raises(AmountOutOfRange):
            ledger.post_pending(uow, "post", held.id)
        with db.unit() as uow:
            assert ledger.find_transfer(uow, "post") is None
            ledger.void_pending(uow, "void", held.id)
    finally:
        _set_totals(db, wallet, 0)


def test_the_schema_refuses_totals_and_transfers_past_their_range(db: Database) -> None:
    line = make_line(db)
    with db.unit() as uow:
        a = ledger.wallet(uow, line.id, "CNY")
        b = ledger.operator_account(uow, "manual_credit", "money:CNY")
    overflow = "UPDATE ledger_accounts SET credits_posted = credits_posted + {} WHERE id = :a"
    for stmt in (overflow.format(MAX_TOTAL + 1),
                 overflow.format(2**63 - 1),  # SQLite would store the sum as a REAL
                 "UPDATE ledger_accounts SET debits_pending = 4611686018427387905 WHERE id = :a"):
        _set_totals(db, a, 10)
        with pytest.raises((sqlalchemy.exc.IntegrityError, sqlalchemy.exc.DataError)), \
                db.unit() as uow:
            uow.conn.execute(text(stmt), {"a": a})
    _set_totals(db, a, 0)
    with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:
        uow.conn.execute(insert(transfers).values(
            idempotency_id="raw", debit_account_id=b, credit_account_id=a, unit="money:CNY",
            amount=MAX_TRANSFER + 1, kind="posted", code="raw", created_at=uow.now))
    with db.unit() as uow:
        assert ledger.balance(uow, a).posted == 0


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59Z", "2020-01-01T00:00:00Z",
                                "2026-11-24T08:00:01Z"])
def test_usage_dated_out_of_its_window_is_refused(catalogue: Database, at: str,
                                                  clock: FrozenClock) -> None:
    api = Api(catalogue)
    line = make_line(catalogue, msisdn="+8613800138000")
    net = api.login(str(make_user(catalogue, "network").email))
    r = api.post("/api/v1/usage", net, json={
        "record_id": f"r-{at}", "line": line.msisdn, "unit": "data", "quantity": 1024,
        "country": "CN", "occurred_at": at})
    refused(r, 422, "invalid_usage")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(amount=st.one_of(st.integers(min_value=-(2**64), max_value=2**64),
                       st.integers(min_value=0, max_value=10_000_00)))  # around the limits
def test_any_integer_amount_gets_an_answer_and_the_books_balance(
        shop: SandboxShop, amount: int) -> None:
    r = order(shop, amount=amount, currency="CNY")
    assert r.status_code < 500, r.text
    if r.status_code == 201:
        shop.pay(r.json())
    with shop.api.db.unit() as uow:
        assert check_books(uow.conn) == []
