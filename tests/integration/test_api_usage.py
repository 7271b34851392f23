"""Usage from the network: buckets by zone and soonest expiry, first-use start, then money at
the out-of-bundle rate, never below zero, each record exactly once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import Api, make_line, make_user
from topup.catalog import service as catalog
from topup.clock import FrozenClock
from topup.db.uow import Database

GB, MIB = 1024**3, 1024**2


class World:
    def __init__(self, api: Api, db: Database) -> None:
        self.api, self.db = api, db
        self.line = make_line(db, secret="5151", country="CN", currency="CNY")
        self.user, self.me = api.as_new()
        api.client.post("/api/v1/lines/bind", headers=self.me,
                        json={"identifier": self.line.iccid, "secret": "5151"})
        self.staff = api.login(str(make_user(db, "admin").email))
        self.net = api.login(str(make_user(db, "network").email))
        self.n = 0

    def credit(self, amount: int) -> None:
        self.n += 1
        r = self.api.post(f"/api/v1/admin/lines/{self.line.id}/credit", self.staff,
                          key=f"c{self.n}", json={"amount": amount, "reason": "test",
                                                  "confirm_duplicate": True})
        assert r.status_code == 201, r.text

    def buy(self, code: str) -> dict[str, Any]:
        with self.db.unit() as uow:
            plan = catalog.get_plan_by_code(uow, code)
        self.n += 1
        r = self.api.post("/api/v1/orders", self.me, key=f"b{self.n}", json={
            "line_id": self.line.id, "kind": "plan", "plan_id": plan.id, "method": "wallet",
            "confirm_duplicate": True})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def use(self, quantity: int, country: str, record: str, unit: str = "data",
            at: str = "2026-11-22T10:00:00Z") -> Any:
        return self.api.post("/api/v1/usage", self.net, json={
            "record_id": record, "line": self.line.msisdn or self.line.iccid, "unit": unit,
            "quantity": quantity, "country": country, "occurred_at": at})

    def detail(self) -> dict[str, Any]:
        return dict(self.api.client.get(f"/api/v1/lines/{self.line.id}", headers=self.me).json())

    def remaining(self) -> dict[str, int]:
        return {b["plan_code"]: b["units"]["data"]["remaining"]
                for b in self.detail()["buckets"] if "data" in b["units"]}

    def money(self) -> int:
        return int(self.detail()["balances"][0]["balance"])


@pytest.fixture
def w(api: Api, catalogue: Database) -> World:
    return World(api, catalogue)


def test_zone_matching_and_soonest_expiry_first(w: World) -> None:
    w.credit(500_00)
    w.buy("TH-7D-10GB")
    w.buy("SEA-30D-15GB")
    assert w.use(2 * GB, "TH", "r1").json()["from_buckets"] == 2 * GB
    assert w.remaining() == {"TH-7D-10GB": 8 * GB, "SEA-30D-15GB": 15 * GB}
    assert w.use(1 * GB, "VN", "r2").json()["from_buckets"] == GB, "only SEA covers Vietnam"
    assert w.remaining() == {"TH-7D-10GB": 8 * GB, "SEA-30D-15GB": 14 * GB}
    r = w.use(9 * GB, "TH", "r3").json()
    assert r["from_buckets"] == 9 * GB
    assert w.remaining() == {"TH-7D-10GB": 0, "SEA-30D-15GB": 13 * GB}


def test_first_use_plan_starts_at_its_first_record(w: World, clock: FrozenClock) -> None:
    w.credit(200_00)
    w.buy("JP-8D-15GB")
    (bucket,) = w.detail()["buckets"]
    assert bucket["expires_at"] is None
    clock.advance(days=2, hours=19)  # the network reports within a day of the use
    w.use(100 * MIB, "JP", "jp1", at="2026-11-25T03:00:00Z")
    (bucket,) = w.detail()["buckets"]
    assert bucket["valid_from"].startswith("2026-11-25T03:00:00")
    assert bucket["expires_at"].startswith("2026-12-03T03:00:00")


def test_out_of_bundle_from_money_then_uncovered_never_below_zero(w: World) -> None:
    w.credit(10_00)
    r = w.use(20 * MIB, "CN", "oob1").json()  # CN, CNY: 0.30 per MiB
    assert (r["from_buckets"], r["from_money"], r["money_charged"]) == (0, 20 * MIB, 6_00)
    assert w.money() == 4_00
    r = w.use(20 * MIB, "CN", "oob2").json()
    assert r["money_charged"] <= 4_00 and r["uncovered"] > 0
    assert r["from_money"] + r["uncovered"] == 20 * MIB
    assert w.money() >= 0 and w.money() < 30


def test_a_record_counts_once_and_a_changed_record_is_refused(w: World) -> None:
    w.credit(100_00)
    w.buy("TH-7D-10GB")
    first = w.use(GB, "TH", "dup-1")
    again = w.use(GB, "TH", "dup-1")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert w.remaining() == {"TH-7D-10GB": 9 * GB}
    changed = w.use(2 * GB, "TH", "dup-1")
    assert changed.status_code == 409 and changed.json()["code"] == "usage_record_conflict"


def test_only_the_network_reports_usage_and_frozen_lines_refuse(w: World) -> None:
    r = w.api.post("/api/v1/usage", w.me, json={
        "record_id": "x", "line": w.line.iccid, "unit": "data", "quantity": 1,
        "country": "CN", "occurred_at": "2026-11-22T10:00:00Z"})
    assert r.status_code == 403
    w.api.client.post(f"/api/v1/admin/lines/{w.line.id}/freeze", headers=w.staff,
                      json={"reason": "fraud review"})
    r = w.use(1, "CN", "frozen-1")
    assert r.status_code == 409 and r.json()["code"] == "line_not_usable"


def test_naive_timestamps_and_bad_units_are_refused(w: World) -> None:
    r = w.api.post("/api/v1/usage", w.net, json={
        "record_id": "t", "line": w.line.iccid, "unit": "data", "quantity": 1,
        "country": "CN", "occurred_at": "2026-11-22T10:00:00"})
    assert r.status_code == 422
    assert w.use(1, "CN", "u", unit="video").status_code == 422


def test_usage_in_the_second_of_a_purchase_draws_from_the_new_plan(
        w: World, clock: FrozenClock) -> None:
    w.credit(100_00)
    clock.advance(seconds=3600.75)  # bought at 09:00:00.75; the network stamps whole seconds
    w.buy("CN-1D-1GB")
    before = w.money()
    r = w.use(20 * MIB, "CN", "same-second", at="2026-11-22T09:00:00Z").json()
    assert (r["from_buckets"], r["money_charged"]) == (20 * MIB, 0), r
    assert w.money() == before and w.remaining() == {"CN-1D-1GB": GB - 20 * MIB}
    early = w.use(MIB, "CN", "second-before", at="2026-11-22T08:59:59Z").json()
    assert early["from_buckets"] == 0, "a second earlier the plan was not bought yet"
