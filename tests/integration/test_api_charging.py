"""Online charging over HTTP (/api/v1/charging/sessions, shaped after TS 32.291), as a 5G
gateway drives it: create, update, release; a retransmission answered the same; a balance
running short answered with a final unit, then the quota limit, then granted again after a
top-up; refusals as problem+json."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, fund, make_line, make_user
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers import lines as line_svc

MIB = 1024**2
BASE = "/api/v1/charging/sessions"


@pytest.fixture
def gw(catalogue: Database) -> tuple[Api, dict[str, str]]:
    api = Api(catalogue)
    return api, api.login(str(make_user(catalogue, "network").email))


def funded(db: Database, amount: int, msisdn: str) -> line_svc.Line:
    line = make_line(db, msisdn=msisdn)
    top_up(db, line, amount, "first")
    return line


def top_up(db: Database, line: line_svc.Line, amount: int, tag: str) -> None:
    fund(db, line, amount, f"seed:{line.id}:{tag}")


def wallet(db: Database, line: line_svc.Line) -> tuple[int, int]:
    with db.unit(readonly=True) as uow:
        b = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
    return b.posted, b.pending_debits


def usage(group: int, used: int | None = None, wanted: Any = "none") -> dict[str, Any]:
    item: dict[str, Any] = {"ratingGroup": group}
    if used is not None:
        item["usedUnitContainer"] = [{"totalVolume": used}]
    if wanted != "none":
        item["requestedUnit"] = {} if wanted is None else {"totalVolume": wanted}
    return item


def test_a_gateway_creates_updates_and_releases_a_session(gw: tuple[Api, dict[str, str]]
                                                          ) -> None:
    api, headers = gw
    line = funded(api.db, 10_00, "+8613900000001")
    created = api.client.post(BASE, headers=headers, json={
        "sessionId": "smf;1;a", "subscriberIdentifier": "msisdn-8613900000001",
        "country": "TH", "invocationSequenceNumber": 0,
        "multipleUnitUsage": [usage(10, wanted=4 * MIB), usage(20, wanted=None)]})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"{BASE}/smf;1;a"
    assert created.json() == {
        "sessionId": "smf;1;a", "invocationSequenceNumber": 0, "invocationResult": "SUCCESS",
        "multipleUnitInformation": [
            {"ratingGroup": 10, "resultCode": "SUCCESS", "grantedUnit": {"totalVolume": 4 * MIB},
             "validityTime": 600},
            {"ratingGroup": 20, "resultCode": "SUCCESS",
             "grantedUnit": {"totalVolume": 10 * MIB}, "validityTime": 600}]}
    assert wallet(api.db, line) == (10_00, 2_00 + 5_00)

    body = {"invocationSequenceNumber": 1,
            "multipleUnitUsage": [usage(10, used=3 * MIB, wanted=2 * MIB), usage(20, used=MIB)]}
    updated = api.client.post(f"{BASE}/smf;1;a/update", headers=headers, json=body)
    assert updated.status_code == 200, updated.text
    info = updated.json()["multipleUnitInformation"]
    assert [(i["ratingGroup"], i.get("grantedUnit")) for i in info] == [
        (10, {"totalVolume": 2 * MIB}), (20, None)], "group 20 only reported its use"
    assert wallet(api.db, line) == (10_00 - 1_50 - 50, 1_00)
    again = api.client.post(f"{BASE}/smf;1;a/update", headers=headers, json=body)
    assert again.json() == updated.json() and wallet(api.db, line) == (8_00, 1_00)

    released = api.client.post(f"{BASE}/smf;1;a/release", headers=headers, json={
        "invocationSequenceNumber": 2, "multipleUnitUsage": [usage(10, used=MIB)]})
    assert released.status_code == 204 and released.content == b""
    assert wallet(api.db, line) == (7_50, 0)
    late = api.client.post(f"{BASE}/smf;1;a/update", headers=headers, json={
        "invocationSequenceNumber": 3, "multipleUnitUsage": [usage(10, used=MIB)]})
    assert (late.status_code, late.json()["code"]) == (409, "charging_session_closed")


def test_a_short_balance_ends_in_the_quota_limit_until_a_top_up(
        gw: tuple[Api, dict[str, str]]) -> None:
    api, headers = gw
    line = funded(api.db, 1_00, "+8613900000002")
    first = api.client.post(BASE, headers=headers, json={
        "sessionId": "smf;2", "subscriberIdentifier": line.iccid, "country": "th",
        "invocationSequenceNumber": 0, "multipleUnitUsage": [usage(1, wanted=8 * MIB)]}).json()
    [grant] = first["multipleUnitInformation"]
    assert grant["grantedUnit"] == {"totalVolume": 2 * MIB}
    assert grant["finalUnitIndication"] == {"finalUnitAction": "TERMINATE"}
    out = api.client.post(f"{BASE}/smf;2/update", headers=headers, json={
        "invocationSequenceNumber": 1,
        "multipleUnitUsage": [usage(1, used=2 * MIB, wanted=None)]}).json()
    assert out["invocationResult"] == "QUOTA_LIMIT_REACHED"
    assert out["multipleUnitInformation"][0]["resultCode"] == "QUOTA_LIMIT_REACHED"
    top_up(api.db, line, 5_00, "again")
    out = api.client.post(f"{BASE}/smf;2/update", headers=headers, json={
        "invocationSequenceNumber": 2, "multipleUnitUsage": [usage(1, wanted=None)]}).json()
    assert out["multipleUnitInformation"][0]["grantedUnit"] == {"totalVolume": 10 * MIB}


def test_charging_refusals_are_problems(gw: tuple[Api, dict[str, str]]) -> None:
    api, headers = gw
    funded(api.db, 1_00, "+8613900000003")
    unknown = api.client.post(f"{BASE}/nobody/update", headers=headers, json={
        "invocationSequenceNumber": 1, "multipleUnitUsage": [usage(1, used=MIB)]})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "charging_session_not_found")
    assert unknown.headers["content-type"].startswith("application/problem+json")
    mixed = api.client.post(BASE, headers=headers, json={
        "sessionId": "smf;3", "subscriberIdentifier": "8613900000003", "country": "TH",
        "invocationSequenceNumber": 0, "multipleUnitUsage": [
            {"ratingGroup": 1, "requestedUnit": {"totalVolume": MIB, "time": 60}}]})
    assert (mixed.status_code, mixed.json()["code"]) == (422, "invalid_charging_request")
    nobody = api.client.post(BASE, headers=headers, json={
        "sessionId": "smf;4", "subscriberIdentifier": "imsi-460001234567890", "country": "TH",
        "invocationSequenceNumber": 0, "multipleUnitUsage": [usage(1, wanted=None)]})
    assert nobody.status_code == 404
    frozen = funded(api.db, 1_00, "+8613900000004")
    with api.db.unit() as uow:
        line_svc.freeze(uow, frozen.id, actor=None, reason="lost phone")
    cold = api.client.post(BASE, headers=headers, json={
        "sessionId": "smf;6", "subscriberIdentifier": "msisdn-8613900000004", "country": "TH",
        "invocationSequenceNumber": 0, "multipleUnitUsage": [usage(1, wanted=None)]})
    assert (cold.status_code, cold.json()["code"]) == (409, "line_not_usable")
    _, traveller = api.as_new()
    refused = api.client.post(BASE, headers=traveller, json={
        "sessionId": "smf;5", "subscriberIdentifier": "8613900000003", "country": "TH",
        "invocationSequenceNumber": 0, "multipleUnitUsage": [usage(1, wanted=None)]})
    assert refused.status_code == 403


def test_a_one_time_event_is_debited_whole_or_not_at_all(gw: tuple[Api, dict[str, str]]
                                                          ) -> None:
    """An SMS centre charges each message as it goes: one message at Thailand's rate (0.50),
    a retransmission answered the same without a second debit, five more than the money
    allows refused whole, and nothing left held."""
    api, headers = gw
    line = funded(api.db, 1_00, "+8613900000007")

    def event(ref: str, messages: int) -> Any:
        return api.client.post("/api/v1/charging/events", headers=headers, json={
            "sessionId": ref, "subscriberIdentifier": "msisdn-8613900000007",
            "country": "TH", "invocationSequenceNumber": 0, "multipleUnitUsage": [{
                "ratingGroup": 3, "requestedUnit": {"serviceSpecificUnits": messages}}]})

    first = event("smsc;1", 1)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "sessionId": "smsc;1", "invocationSequenceNumber": 0, "invocationResult": "SUCCESS",
        "multipleUnitInformation": [{"ratingGroup": 3, "resultCode": "SUCCESS",
                                     "grantedUnit": {"serviceSpecificUnits": 1}}]}
    assert wallet(api.db, line) == (50, 0)
    again = event("smsc;1", 1)
    assert (again.status_code, again.content) == (200, first.content)
    assert wallet(api.db, line) == (50, 0)
    short = event("smsc;2", 5)
    assert short.json()["invocationResult"] == "QUOTA_LIMIT_REACHED"
    assert short.json()["multipleUnitInformation"] == [
        {"ratingGroup": 3, "resultCode": "QUOTA_LIMIT_REACHED"}]
    assert wallet(api.db, line) == (50, 0)
    assert event("smsc;3", 1).json()["invocationResult"] == "SUCCESS"
    assert wallet(api.db, line) == (0, 0)
    changed = event("smsc;3", 2)
    assert (changed.status_code, changed.json()["code"]) == (409, "charging_request_conflict")
