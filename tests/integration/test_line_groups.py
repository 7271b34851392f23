"""Data shared across a traveller's devices, on SQLite and PostgreSQL, over the API.

A traveller groups a phone and a tablet and buys Japan 7 days 10 GB for the group from the
phone's wallet; both lines draw on that one bucket (it stays on the phone's books), each
line's use is counted, a line's cap holds (past it, the line falls through to its own wallet
at the out-of-bundle rate, or is refused), leaving stops the drawing and keeps the books, and
nobody but the owner sees or changes the group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import START
from tests.factories import Api, fund, make_line, make_user
from topup.charging import sessions
from topup.charging.tables import bucket_units, buckets, group_member_use
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers import lines as line_svc

GB = 1024**3
MIB = 1024**2
PRICE = 69_00  # JP-7D-10GB in CNY (demo catalogue)
OOB = 60  # fen per MiB of data in Japan (the demo's Asia CNY rate, the cheapest covering it)


@dataclass
class Trip:
    """A traveller's API session with a phone and a tablet, and the network's login."""

    api: Api
    me: dict[str, str]
    net: dict[str, str]
    phone: line_svc.Line
    tablet: line_svc.Line
    plan_id: int

    def use(self, rid: str, line: line_svc.Line, quantity: int, minutes: int = 60
            ) -> dict[str, Any]:
        at = (START + timedelta(minutes=minutes)).isoformat()
        r = self.api.post("/api/v1/usage", self.net, json={
            "record_id": rid, "line": line.iccid, "unit": "data", "quantity": quantity,
            "country": "JP", "occurred_at": at})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body

    def group(self, group_id: int) -> dict[str, Any]:
        r = self.api.client.get(f"/api/v1/groups/{group_id}", headers=self.me)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def buy_for(self, group_id: int, line: line_svc.Line, key: str) -> dict[str, Any]:
        r = self.api.post("/api/v1/orders", self.me, key=key, json={
            "line_id": line.id, "kind": "plan", "plan_id": self.plan_id, "method": "wallet",
            "group_id": group_id})
        assert r.status_code == 201, r.text
        body: dict[str, Any] = r.json()
        return body


@pytest.fixture
def trip(api: Api, catalogue: Database) -> Trip:
    user, me = api.as_new()
    phone = make_line(catalogue, secret="2468", msisdn="+8613900000101")
    tablet = make_line(catalogue, secret="2468", msisdn="+8613900000102")
    with catalogue.unit() as uow:
        for line in (phone, tablet):
            assert line_svc.bind(uow, user.id, line.iccid, "2468") is not None
    fund(catalogue, phone, 100_00, "seed:phone")
    plans = api.client.get("/api/v1/plans", params={"country": "JP", "currency": "CNY"}).json()
    week = next(p for p in plans if p["code"] == "JP-7D-10GB")
    assert week["prices"]["CNY"] == PRICE
    net = api.login(str(make_user(catalogue, "network").email))
    return Trip(api, me, net, phone, tablet, int(week["id"]))


def _new_group(trip: Trip, caps: dict[int, int | None] | None = None) -> int:
    c, me = trip.api.client, trip.me
    r = c.post("/api/v1/groups", headers=me, json={"name": "Family trip"})
    assert r.status_code == 201, r.text
    group_id = int(r.json()["id"])
    for line in (trip.phone, trip.tablet):
        cap = (caps or {}).get(line.id)
        r = c.post(f"/api/v1/groups/{group_id}/members", headers=me,
                   json={"line_id": line.id, "cap_bytes": cap})
        assert r.status_code == 201, r.text
    return group_id


def _uses(group: dict[str, Any]) -> dict[int, int]:
    return {m["line_id"]: m["used_bytes"] for m in group["members"]}


def test_two_lines_draw_one_bucket(trip: Trip) -> None:
    """Worked example: the pool is 10 GB; the phone uses 3 GB and the tablet 4 GB; the pool
    shows 3 GB left, the phone's wallet paid 69 CNY, the tablet's paid nothing."""
    group_id = _new_group(trip)
    order = trip.buy_for(group_id, trip.phone, "buy-jp-group-1")
    assert (order["state"], order["group_id"], order["line_id"]) == (
        "fulfilled", group_id, trip.phone.id)

    phone_use = trip.use("jp-1", trip.phone, 3 * GB)
    tablet_use = trip.use("jp-2", trip.tablet, 4 * GB, minutes=90)
    assert (phone_use["from_buckets"], phone_use["money_charged"]) == (3 * GB, 0)
    assert (tablet_use["from_buckets"], tablet_use["money_charged"]) == (4 * GB, 0)

    group = trip.group(group_id)
    assert (group["total_bytes"], group["remaining_bytes"]) == (10 * GB, 3 * GB)
    assert _uses(group) == {trip.phone.id: 3 * GB, trip.tablet.id: 4 * GB}
    (bucket,) = group["buckets"]
    assert bucket["group_id"] == group_id and bucket["plan_code"] == "JP-7D-10GB"

    db = trip.api.db
    with db.unit(readonly=True) as uow:
        assert ledger.wallets(uow, trip.phone.id)["CNY"].posted == 100_00 - PRICE
        assert "CNY" not in ledger.wallets(uow, trip.tablet.id)
        # the shared bucket stays on the buyer's books
        account = uow.conn.execute(select(bucket_units.c.account_id).join(
            buckets, buckets.c.id == bucket_units.c.bucket_id).where(
            buckets.c.group_id == group_id)).scalar_one()
        held_by = uow.conn.execute(select(buckets.c.line_id).where(
            buckets.c.group_id == group_id)).scalar_one()
        assert held_by == trip.phone.id
        assert ledger.balance(uow, account).available == 3 * GB
    # the phone's own page lists the plan it bought for the group; the tablet's does not
    c = trip.api.client
    phone_page = c.get(f"/api/v1/lines/{trip.phone.id}", headers=trip.me).json()
    assert [b["group_id"] for b in phone_page["buckets"]] == [group_id]
    assert c.get(f"/api/v1/lines/{trip.tablet.id}", headers=trip.me).json()["buckets"] == []


def test_a_members_cap_holds_and_it_falls_through_to_its_wallet(trip: Trip) -> None:
    """The tablet may draw 2 GB of the group's data; it uses 3 GB: 2 GB from the pool, then
    its own wallet pays the out-of-bundle rate for what its 6 CNY cover (10 MiB), and the
    rest is refused (uncovered). The phone, without a cap, goes on drawing from the pool."""
    group_id = _new_group(trip, {trip.tablet.id: 2 * GB})
    fund(trip.api.db, trip.tablet, 6_00, "seed:tablet")
    trip.buy_for(group_id, trip.phone, "buy-jp-group-2")

    first = trip.use("cap-1", trip.tablet, 1536 * MIB)
    assert first["from_buckets"] == 1536 * MIB
    over = trip.use("cap-2", trip.tablet, 1536 * MIB, minutes=70)
    assert over["from_buckets"] == 512 * MIB, "only what is left under the cap"
    assert (over["from_money"], over["money_charged"]) == (10 * MIB, 10 * OOB)
    assert over["uncovered"] == 1536 * MIB - 512 * MIB - 10 * MIB
    refused = trip.use("cap-3", trip.tablet, MIB, minutes=80)
    assert (refused["from_buckets"], refused["uncovered"]) == (0, MIB)

    phone = trip.use("cap-4", trip.phone, 5 * GB, minutes=90)
    assert phone["from_buckets"] == 5 * GB
    group = trip.group(group_id)
    assert _uses(group) == {trip.phone.id: 5 * GB, trip.tablet.id: 2 * GB}
    assert group["remaining_bytes"] == 3 * GB
    caps = {m["line_id"]: m["cap_bytes"] for m in group["members"]}
    assert caps == {trip.phone.id: None, trip.tablet.id: 2 * GB}

    # raising the cap lets the tablet draw again; clearing it lifts it
    r = trip.api.client.patch(f"/api/v1/groups/{group_id}/members/{trip.tablet.id}",
                              headers=trip.me, json={"cap_bytes": 3 * GB})
    assert r.status_code == 200, r.text
    assert trip.use("cap-5", trip.tablet, 2 * GB, minutes=100)["from_buckets"] == GB


def test_leaving_stops_the_drawing_and_keeps_the_books(trip: Trip) -> None:
    group_id = _new_group(trip)
    trip.buy_for(group_id, trip.phone, "buy-jp-group-3")
    trip.use("leave-1", trip.tablet, 2 * GB)
    with trip.api.db.unit(readonly=True) as uow:
        moves_before = ledger.count_transfers(uow)
    r = trip.api.client.delete(f"/api/v1/groups/{group_id}/members/{trip.tablet.id}",
                               headers=trip.me)
    assert r.status_code == 200, r.text
    assert moves_before == _count(trip.api.db), "leaving moves nothing"
    group = r.json()
    left = {m["line_id"]: (m["member"], m["used_bytes"]) for m in group["members"]}
    assert left == {trip.phone.id: (True, 0), trip.tablet.id: (False, 2 * GB)}
    assert group["remaining_bytes"] == 8 * GB

    after = trip.use("leave-2", trip.tablet, MIB, minutes=70)
    assert (after["from_buckets"], after["uncovered"]) == (0, MIB), "it draws no more"
    usage = trip.api.client.get(f"/api/v1/lines/{trip.tablet.id}/usage",
                                headers=trip.me).json()["items"]
    assert [(u["record_id"], u["from_buckets"]) for u in usage] == [
        ("leave-2", 0), ("leave-1", 2 * GB)]
    # the buyer leaves too: the bucket stays the group's and on the phone's books; the phone
    # now draws only its own plans
    r = trip.api.client.delete(f"/api/v1/groups/{group_id}/members/{trip.phone.id}",
                               headers=trip.me)
    assert r.status_code == 200, r.text
    assert trip.use("leave-3", trip.phone, MIB, minutes=80)["from_buckets"] == 0
    emptied = trip.group(group_id)
    assert [(m["line_id"], m["member"]) for m in emptied["members"]] == [
        (trip.tablet.id, False)], "no line in it; the tablet's use of the running plan stays"
    assert emptied["remaining_bytes"] == 8 * GB
    with trip.api.db.unit(readonly=True) as uow:
        used = dict(uow.conn.execute(select(group_member_use.c.line_id,
                                            group_member_use.c.used)).all())
    assert used == {trip.tablet.id: 2 * GB}


def _count(db: Database) -> int:
    with db.unit(readonly=True) as uow:
        return ledger.count_transfers(uow)


def test_only_the_owner_sees_and_changes_a_group(trip: Trip) -> None:
    group_id = _new_group(trip)
    c, api = trip.api.client, trip.api
    _, other = api.as_new()
    stranger_line = make_line(api.db, secret="1357")
    path = f"/api/v1/groups/{group_id}"
    for method, url, body in (
            ("GET", path, None),
            ("POST", f"{path}/members", {"line_id": trip.phone.id}),
            ("PATCH", f"{path}/members/{trip.phone.id}", {"cap_bytes": 1}),
            ("DELETE", f"{path}/members/{trip.phone.id}", None)):
        r = c.request(method, url, headers=other, json=body)
        assert r.status_code == 404, (method, url, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "group_not_found"
    assert c.get("/api/v1/groups", headers=other).json() == []
    staff = api.login(str(make_user(api.db, "admin").email))
    assert c.get(path, headers=staff).status_code == 403

    # buying for someone else's group through one's own line is refused
    with api.db.unit() as uow:
        theirs = line_svc.bind(uow, int(_user_id(api, other)), stranger_line.iccid, "1357")
    assert theirs is not None
    fund(api.db, theirs, 100_00, "seed:stranger")
    r = api.post("/api/v1/orders", other, key="not-my-group", json={
        "line_id": theirs.id, "kind": "plan", "plan_id": trip.plan_id, "method": "wallet",
        "group_id": group_id})
    assert r.status_code == 409 and r.json()["code"] == "line_not_in_group", r.text
    assert trip.group(group_id)["buckets"] == []


def _user_id(api: Api, headers: dict[str, str]) -> int:
    return int(api.client.get("/api/v1/auth/me", headers=headers).json()["id"])


def test_refusals_are_problems(trip: Trip) -> None:
    c, me = trip.api.client, trip.me
    group_id = _new_group(trip)
    second = c.post("/api/v1/groups", headers=me, json={"name": "Work"}).json()["id"]

    def refused(method: str, url: str, body: Any, status: int, code: str) -> None:
        r = c.request(method, url, headers={**me, "Accept-Language": "zh-CN"}, json=body)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
        assert r.headers["content-type"] == "application/problem+json"

    stranger = make_line(trip.api.db, secret="9999")
    refused("POST", f"/api/v1/groups/{second}/members", {"line_id": stranger.id}, 404,
            "line_not_found")
    refused("POST", f"/api/v1/groups/{second}/members", {"line_id": trip.phone.id}, 409,
            "line_in_group")
    refused("POST", f"/api/v1/groups/{group_id}/members", {"line_id": trip.phone.id}, 409,
            "line_in_group")
    refused("PATCH", f"/api/v1/groups/{group_id}/members/{trip.phone.id}",
            {"cap_bytes": -1}, 422, "validation_failed")
    refused("PATCH", f"/api/v1/groups/{second}/members/{trip.phone.id}", {"cap_bytes": 5},
            409, "line_not_in_group")
    refused("DELETE", f"/api/v1/groups/{second}/members/{trip.tablet.id}", None, 409,
            "line_not_in_group")
    refused("POST", "/api/v1/groups", {"name": ""}, 422, "validation_failed")
    r = trip.api.post("/api/v1/orders", me, key="group-topup", json={
        "line_id": trip.phone.id, "kind": "topup", "amount": 10_00, "method": "sandbox",
        "group_id": group_id})
    assert (r.status_code, r.json()["code"]) == (422, "invalid_order"), r.text
    r = c.delete(f"/api/v1/groups/{second}/members/{trip.tablet.id}",
                 headers={**me, "Accept-Language": "zh-CN"})
    assert r.json()["title"] == "该号码不在此共享组中"


def test_a_renewal_for_the_group_stacks_on_the_groups_plan(trip: Trip) -> None:
    """Buying the same plan for the group again (through the tablet this time) renews the
    group's plan: it starts when the running one ends; the phone's own purchase of the same
    plan does not stack on the group's."""
    group_id = _new_group(trip)
    fund(trip.api.db, trip.tablet, 100_00, "seed:tablet")
    fund(trip.api.db, trip.phone, 100_00, "seed:phone-2")
    first = trip.buy_for(group_id, trip.phone, "group-week-1")
    again = trip.buy_for(group_id, trip.tablet, "group-week-2")
    assert (first["renewal"], again["renewal"]) == (False, True)
    r = trip.api.post("/api/v1/orders", trip.me, key="own-week-1", json={
        "line_id": trip.phone.id, "kind": "plan", "plan_id": trip.plan_id,
        "method": "wallet", "confirm_duplicate": True})
    assert r.status_code == 201 and r.json()["renewal"] is False, r.text
    shared = trip.group(group_id)["buckets"]
    assert [b["valid_from"] for b in shared][1] == shared[0]["expires_at"]
    assert trip.group(group_id)["total_bytes"] == 20 * GB


def test_a_plan_for_the_group_reauthorizes_a_members_starved_session(trip: Trip) -> None:
    """The tablet's Diameter session was refused (no plan, no money); a plan bought for the
    group (from the phone's wallet) is something to grant it again: its gateway is asked to
    re-authorize. A tablet at its cap is not."""
    group_id = _new_group(trip, {trip.tablet.id: 0})
    db = trip.api.db
    with db.unit() as uow:
        tablet = line_svc.get_line(uow, trip.tablet.id)
        refused = sessions.charge(uow, "gx;tablet", 0, "initial",
                                  [sessions.Ask(1, "data", requested=MIB)], line=tablet,
                                  country="JP", peer=("pgw.example", "example"))
    assert refused.grants[0].result != "success"
    trip.buy_for(group_id, trip.phone, "buy-jp-group-reauth")
    with db.unit(readonly=True) as uow:
        assert sessions.to_reauthorize(uow) == [], "at its cap (0) it has nothing to get"
    r = trip.api.client.patch(f"/api/v1/groups/{group_id}/members/{trip.tablet.id}",
                              headers=trip.me, json={"cap_bytes": None})
    assert r.status_code == 200, r.text
    with db.unit(readonly=True) as uow:
        assert [s.ref for s in sessions.to_reauthorize(uow)] == ["gx;tablet"]
    with db.unit() as uow:
        granted = sessions.charge(uow, "gx;tablet", 1, "update",
                                  [sessions.Ask(1, "data", requested=MIB)])
    assert (granted.grants[0].result, granted.grants[0].granted) == ("success", MIB)
    with db.unit() as uow:
        sessions.charge(uow, "gx;tablet", 2, "terminate", [sessions.Ask(1, "data", used=MIB)])
    assert _uses(trip.group(group_id))[trip.tablet.id] == MIB
