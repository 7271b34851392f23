"""Usage records in batches: answers as before, refusals alone, first-use plans started once.

A roaming traveller's line holds a first-use Thailand data plan and some money; the network
reports several records at once (through the writer, or as one ``USAGE`` batch)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from sqlalchemy import select

from tests.conftest import START
from tests.factories import Api, fund, make_line, make_user
from topup.catalog import service as catalog
from topup.channels.api import fastlane
from topup.channels.api.views import usage_out
from topup.charging.batch import USAGE, Usage
from topup.charging.buckets import issue_bucket
from topup.charging.service import usage_history
from topup.charging.tables import buckets
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import LineNotUsable

MIB = 1024**2


def record(rid: str, line: str, quantity: int = MIB, country: str = "TH",
           minutes: int = 60) -> Usage:
    return Usage(rid, line, "data", quantity, country, START + timedelta(minutes=minutes))


@pytest.fixture
def net(catalogue: Database) -> tuple[Api, dict[str, str]]:
    api = Api(catalogue)
    return api, api.login(str(make_user(catalogue, "network").email))


def _line_with_money(db: Database, msisdn: str, amount: int) -> line_svc.Line:
    line = make_line(db, msisdn=msisdn)
    fund(db, line, amount, f"seed:{line.id}")
    return line


def test_a_replay_answers_200_with_the_same_body_and_a_change_conflicts(
        net: tuple[Api, dict[str, str]]) -> None:
    api, headers = net
    line = _line_with_money(api.db, "+8613800000001", 50_00)
    body = {"record_id": "n-1", "line": line.msisdn, "unit": "data", "quantity": 3 * MIB,
            "country": "TH", "occurred_at": "2026-11-22T09:00:00+08:00"}
    first = api.post("/api/v1/usage", headers, json=body)
    again = api.post("/api/v1/usage", headers, json=body)  # the token is cached: fast lane
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.content == first.content
    assert first.json()["occurred_at"] == "2026-11-22T01:00:00Z"
    with api.db.unit(readonly=True) as uow:
        [(_, stored)] = usage_history(uow, line.id, limit=5)
    assert first.json() == jsonable_encoder(usage_out(stored)), "the body as it always was"
    changed = api.post("/api/v1/usage", headers, json=body | {"quantity": MIB})
    assert changed.status_code == 409 and changed.json()["code"] == "usage_record_conflict"
    assert "idempotent-replayed" not in again.headers


def test_a_frozen_line_fails_its_record_alone(catalogue: Database) -> None:
    ok = _line_with_money(catalogue, "+8613800000002", 50_00)
    frozen = _line_with_money(catalogue, "+8613800000003", 50_00)
    with catalogue.unit() as uow:
        line_svc.freeze(uow, frozen.id, actor=None, reason="suspected fraud")
    with catalogue.unit() as uow:
        out = USAGE.apply(uow, [record("a", str(ok.msisdn)), record("b", str(frozen.msisdn)),
                                record("c", ok.iccid, minutes=61)])
    assert isinstance(out[1], LineNotUsable)
    assert [o[1] for o in (out[0], out[2])] == [True, True]
    with catalogue.unit(readonly=True) as uow:
        assert [r.record_id for _, r in usage_history(uow, ok.id, limit=5)] == ["c", "a"]
        assert usage_history(uow, frozen.id, limit=5) == []
        charged = out[0][0].money_charged + out[2][0].money_charged
        assert ledger.wallets(uow, ok.id)["CNY"].posted == 50_00 - charged > 0
        assert ledger.wallets(uow, frozen.id)["CNY"].posted == 50_00


def test_a_first_use_plan_started_by_a_record_serves_the_next_ones(catalogue: Database) -> None:
    line = _line_with_money(catalogue, "+8613800000004", 1)
    with catalogue.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "JP-8D-15GB")  # starts at first use
        bucket_id, _ = issue_bucket(uow, line.id, plan, 900_001)
    with catalogue.unit() as uow:
        out = USAGE.apply(uow, [record("f1", line.iccid, country="JP", minutes=30),
                                record("f2", line.iccid, country="JP", minutes=90),
                                record("f1", line.iccid, country="JP", minutes=30)])
    assert [o[0].from_buckets for o in out] == [MIB, MIB, MIB]
    assert [o[1] for o in out] == [True, True, False], "the repeat inside the batch replays"
    with catalogue.unit(readonly=True) as uow:
        started = uow.conn.execute(select(buckets.c.valid_from, buckets.c.expires_at).where(
            buckets.c.id == bucket_id)).one()
    assert tuple(started) == (START + timedelta(minutes=30),
                              START + timedelta(minutes=30, days=plan.validity_days))


def test_an_identifier_naming_two_lines_takes_the_reference_path(catalogue: Database) -> None:
    first = _line_with_money(catalogue, "+8613800000005", 10_00)
    make_line(catalogue, imsi="8613800000005")
    with catalogue.unit() as uow:
        out = USAGE.apply(uow, [record("d1", "8613800000005"), record("d2", first.iccid)])
    assert all(o[1] for o in out)
    assert out[1][0].line_id == first.id


def test_the_fast_lane_answers_as_the_route_does(net: tuple[Api, dict[str, str]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    api, headers = net
    line = _line_with_money(api.db, "+8613800000006", 50_00)
    taken: list[str] = []

    async def counted(*args: Any) -> Any:
        taken.append(args[3].record_id)
        return await usage_lane(*args)

    usage_lane = next(lane.handler for lane in fastlane.LANES if lane.path == "/api/v1/usage")
    monkeypatch.setattr(fastlane, "LANES", tuple(
        dataclasses.replace(lane, handler=counted) if lane.path == "/api/v1/usage" else lane
        for lane in fastlane.LANES))
    body = {"record_id": "lane-1", "line": line.iccid, "unit": "voice", "quantity": 90,
            "country": "TH", "occurred_at": "2026-11-22T08:30:00Z"}
    answers = [api.post("/api/v1/usage", headers, json=body | {"record_id": rid})
               for rid in ("lane-1", "lane-2", "lane-1")]
    assert "lane-2" in taken, "a recently checked token goes the lean way"
    assert [a.status_code for a in answers] == [201, 201, 200]
    assert answers[2].content == answers[0].content
    refused = api.post("/api/v1/usage", headers, json=body | {"country": "T1"})
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_usage"


def test_a_plan_started_by_one_unit_is_started_for_its_others(catalogue: Database) -> None:
    """A first-use plan of data and minutes: the data record at 08:30 starts it; a voice
    record later in the same batch draws on it as started then, and the start stays 08:30
    (as record by record: the plan is one row, whichever unit started it)."""
    line = _line_with_money(catalogue, "+8613800000009", 1)
    with catalogue.unit() as uow:
        plan = catalog.upsert_plan(uow, catalog.PlanSpec(
            code="JP-CALL-7D", name_en="Japan calls and data", name_zh="日本通话和流量",
            zone_code="JP", kind="week", data_bytes=10 * MIB, voice_seconds=600,
            validity_days=7, validity_start="first_use", prices={"CNY": 50_00}))
        bucket_id, _ = issue_bucket(uow, line.id, plan, 900_009)
    voice = Usage("v1", line.iccid, "voice", 120, "JP", START + timedelta(minutes=90))
    with catalogue.unit() as uow:
        out = USAGE.apply(uow, [record("d1", line.iccid, country="JP", minutes=30), voice])
    assert [o[0].from_buckets for o in out] == [MIB, 120]
    with catalogue.unit(readonly=True) as uow:
        started = uow.conn.execute(select(buckets.c.valid_from, buckets.c.expires_at).where(
            buckets.c.id == bucket_id)).one()
    assert tuple(started) == (START + timedelta(minutes=30),
                              START + timedelta(minutes=30, days=7))
