"""The sandbox provider end to end: the payer's page, signed notifications, the delay that
only the status query resolves, 3-D Secure, replays, forgeries and refunds."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.factories import Api, make_line
from topup.db.uow import Database
from topup.payments.errors import RefundFailed
from topup.payments.interfaces import PaymentProvider
from topup.payments.providers.sandbox import SandboxProvider
from topup.payments.service import reconcile


@pytest.fixture
def sandbox(catalogue: Database) -> SandboxProvider:
    return SandboxProvider(catalogue, catalogue.settings.secret_key, "http://testserver")


@pytest.fixture
def shop(catalogue: Database, sandbox: SandboxProvider) -> tuple[Api, dict, int]:
    api = Api(catalogue, {"sandbox": sandbox})
    line = make_line(catalogue, secret="3141")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "3141"})
    return api, me, line.id


def order(api: Api, me: dict, line_id: int, key: str, amount: int = 100_00) -> dict:
    r = api.post("/api/v1/orders", me, key=key, json={
        "line_id": line_id, "kind": "topup", "amount": amount, "method": "sandbox"})
    assert r.status_code == 201, r.text
    return dict(r.json())


def ref_of(o: dict) -> str:
    return str(o["next_action"]["value"]).rsplit("/", 1)[1]


def balance(api: Api, me: dict, line_id: int) -> int:
    found = api.client.get(f"/api/v1/lines/{line_id}", headers=me).json()["balances"]
    return int(found[0]["balance"]) if found else 0


def test_sandbox_conforms_to_the_port(sandbox: SandboxProvider) -> None:
    assert isinstance(sandbox, PaymentProvider)


def test_pay_on_the_sandbox_page_credits_once(shop: tuple[Api, dict, int]) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-1")
    assert o["state"] == "awaiting_payment" and o["next_action"]["kind"] == "redirect"
    page = api.client.get(f"/sandbox/pay/{ref_of(o)}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "测试模式" in page.text and "100.00 CNY" in page.text
    done = api.client.post(f"/sandbox/pay/{ref_of(o)}/approve")
    assert done.status_code == 200 and "Payment approved" in done.text
    assert api.client.get(f"/api/v1/orders/{o['id']}", headers=me).json()["state"] == "fulfilled"
    api.client.post(f"/sandbox/pay/{ref_of(o)}/approve")
    api.client.post(f"/sandbox/pay/{ref_of(o)}/decline")
    assert balance(api, me, line_id) == 100_00


def test_replayed_notifications_credit_once_and_forgeries_nothing(
        shop: tuple[Api, dict, int], sandbox: SandboxProvider) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-2")
    body = sandbox.decide(ref_of(o), "succeeded", 100_00, "CNY")
    headers = sandbox.sign(body)
    for _ in range(100):
        r = api.client.post("/api/v1/webhooks/sandbox", content=body, headers=headers)
        assert r.status_code == 200 and r.text == "ok"
    assert balance(api, me, line_id) == 100_00
    o2 = order(api, me, line_id, "sbx-3", amount=50_00)
    body2 = sandbox.decide(ref_of(o2), "succeeded", 50_00, "CNY")
    forged = dict(sandbox.sign(body2))
    forged["sandbox-signature"] = re.sub(r"v1=\w+", "v1=" + "0" * 64,
                                         forged["sandbox-signature"])
    stale = sandbox.sign(body2, at=1_000_000_000)
    altered = body2.replace(b"5000", b"9000")
    for content, hdrs in ((body2, forged), (body2, stale), (altered, sandbox.sign(body2)),
                          (body2, {"content-type": "application/json"})):
        r = api.client.post("/api/v1/webhooks/sandbox", content=content, headers=hdrs)
        assert r.status_code == 400 and r.json()["code"] == "invalid_notification"
    assert balance(api, me, line_id) == 100_00


def test_out_of_order_failure_after_success_changes_nothing(
        shop: tuple[Api, dict, int], sandbox: SandboxProvider) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-4")
    ok = sandbox.decide(ref_of(o), "succeeded", 100_00, "CNY")
    late = json.dumps({"id": "evt_late", "type": "payment.failed", "data": {
        "ref": ref_of(o), "amount": 100_00, "currency": "CNY"}}).encode()
    api.client.post("/api/v1/webhooks/sandbox", content=ok, headers=sandbox.sign(ok))
    api.client.post("/api/v1/webhooks/sandbox", content=late, headers=sandbox.sign(late))
    assert api.client.get(f"/api/v1/orders/{o['id']}", headers=me).json()["state"] == "fulfilled"
    assert balance(api, me, line_id) == 100_00


def test_delayed_notice_is_found_by_the_status_query(
        shop: tuple[Api, dict, int], sandbox: SandboxProvider, catalogue: Database) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-5")
    api.client.post(f"/sandbox/pay/{ref_of(o)}/delay")
    assert api.client.get(f"/api/v1/orders/{o['id']}",
                          headers=me).json()["state"] == "awaiting_payment"
    result = reconcile(catalogue, {"sandbox": sandbox}, older_than=timedelta(0))
    assert (result.checked, result.settled) == (1, 1)
    assert balance(api, me, line_id) == 100_00


def test_three_d_secure_challenge(shop: tuple[Api, dict, int]) -> None:
    api, me, line_id = shop
    good, bad = order(api, me, line_id, "sbx-6"), order(api, me, line_id, "sbx-7", 30_00)
    assert "1234" in api.client.post(f"/sandbox/pay/{ref_of(good)}/3ds").text
    api.client.post(f"/sandbox/pay/{ref_of(good)}/challenge", data={"code": "1234"})
    api.client.post(f"/sandbox/pay/{ref_of(bad)}/challenge", data={"code": "9999"})
    states = [api.client.get(f"/api/v1/orders/{x['id']}", headers=me).json()["state"]
              for x in (good, bad)]
    assert states == ["fulfilled", "failed"]


def test_refund_once_per_key_and_never_beyond_the_payment(
        shop: tuple[Api, dict, int], sandbox: SandboxProvider) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-8")
    api.client.post(f"/sandbox/pay/{ref_of(o)}/approve")
    first = sandbox.refund(ref_of(o), 60_00, "CNY", "refund-1")
    assert sandbox.refund(ref_of(o), 60_00, "CNY", "refund-1") == first
    with pytest.raises(RefundFailed):
        sandbox.refund(ref_of(o), 60_00, "CNY", "refund-2")
    sandbox.refund(ref_of(o), 40_00, "CNY", "refund-3")


def test_return_page_needs_its_key_and_settles_a_late_payment(
        shop: tuple[Api, dict, int]) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-9")
    done = api.client.post(f"/sandbox/pay/{ref_of(o)}/delay")
    back = re.search(r'href="([^"]+)"', done.text)
    assert back is not None and back.group(1).startswith(f"/pay/return/{o['id']}?t=")
    assert api.client.get(f"/pay/return/{o['id']}?t=nope").status_code == 404
    page = api.client.get(back.group(1), headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and "支付成功" in page.text, "the visit asked the provider"
    assert balance(api, me, line_id) == 100_00


def test_unpaid_order_expires_and_a_later_payment_is_still_credited(
        shop: tuple[Api, dict, int], sandbox: SandboxProvider, catalogue: Database,
        clock) -> None:
    api, me, line_id = shop
    o = order(api, me, line_id, "sbx-10")
    clock.advance(minutes=10)
    assert reconcile(catalogue, {"sandbox": sandbox}).expired == 0
    clock.advance(minutes=25)
    assert reconcile(catalogue, {"sandbox": sandbox}).expired == 1
    assert api.client.get(f"/api/v1/orders/{o['id']}", headers=me).json()["state"] == "expired"
    api.client.post(f"/sandbox/pay/{ref_of(o)}/approve")
    assert balance(api, me, line_id) == 100_00, "money that comes late is not lost"


def test_late_payment_refunded_when_the_operator_says_so(catalogue: Database, clock) -> None:
    refunding = Database(catalogue.engine,
                         replace(catalogue.settings, late_payment_policy="refund"), clock)
    sandbox = SandboxProvider(refunding, refunding.settings.secret_key, "http://testserver")
    api = Api(refunding, {"sandbox": sandbox})
    line = make_line(refunding, secret="9999")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "9999"})
    o = order(api, me, line.id, "late-1")
    clock.advance(minutes=31)
    assert reconcile(refunding, {"sandbox": sandbox}).expired == 1
    api.client.post(f"/sandbox/pay/{ref_of(o)}/approve")
    assert balance(api, me, line.id) == 0, "credited, then sent back through the provider"
    with refunding.unit() as uow:
        from topup.orders.refunds import order_refunds

        (back,) = order_refunds(uow, o["id"])
    assert (back.state, back.amount) == ("succeeded", 100_00)


class OtherWallet(SandboxProvider):
    """A second way to pay (as PayPal would be), kept by the sandbox."""

    name = "otherpay"


def test_a_declined_payment_may_be_retried_at_once_with_another_method(
        catalogue: Database, sandbox: SandboxProvider) -> None:
    other = OtherWallet(catalogue, catalogue.settings.secret_key, "http://testserver")
    api = Api(catalogue, {"sandbox": sandbox, "otherpay": other})
    line = make_line(catalogue, secret="5353")
    _, me = api.as_new()
    api.client.post("/api/v1/lines/bind", headers=me,
                    json={"identifier": line.iccid, "secret": "5353"})

    def state(o: dict) -> str:
        return str(api.client.get(f"/api/v1/orders/{o['id']}", headers=me).json()["state"])

    body = {"line_id": line.id, "kind": "topup", "amount": 100_00, "method": "otherpay"}
    declined = order(api, me, line.id, "card-1")
    api.client.post(f"/sandbox/pay/{ref_of(declined)}/decline")
    assert state(declined) == "failed"
    retry = api.post("/api/v1/orders", me, key="other-1", json=body)
    assert retry.status_code == 201, retry.text
    twin = api.post("/api/v1/orders", me, key="other-2", json=body)
    assert twin.status_code == 409 and twin.json()["code"] == "duplicate_suspected", \
        "a second order by the same method while the first still waits"
    assert twin.json()["order_id"] == retry.json()["id"]
    # The payer gives up on that page (no notice says so) and pays by card instead.
    card = order(api, me, line.id, "card-2")
    assert state(retry.json()) == "cancelled" and state(card) == "awaiting_payment"
    api.client.post(f"/sandbox/pay/{ref_of(card)}/approve")
    paid = api.post("/api/v1/orders", me, key="other-3", json=body)
    assert paid.status_code == 409 and paid.json()["order_id"] == card["id"], \
        "a paid order of the same amount still needs confirmation"
    assert balance(api, me, line.id) == 100_00
