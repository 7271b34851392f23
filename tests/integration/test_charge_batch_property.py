"""Requests in batches through ``CHARGES.apply`` answer and write exactly as ``charge`` one by one.

Hypothesis draws small worlds (the usage batches' worlds: lines with wallets, buckets of data
and voice in zones, started or waiting for first use, frozen lines, out-of-bundle rates) and
a sequence of charging requests over a few sessions: openings by line id, ICCID, IMSI or
MSISDN (or a line that does not exist), updates and terminations, one-shot events,
retransmissions and retransmissions with other contents, numbers out of order, bad
countries and rating groups, cut into batches with the clock moved between them (past a
hold's timeout, now and then). The world is built twice, identically, on fresh databases;
the requests go once in those batches and once one by one through the reference path.
Every answer and every row — sessions, requests, grants, holds, usage records, ledger
transfers, bucket starts, account totals — must be the same, and the books must balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.charging_support import Batches, answer_and_write_alike
from tests.integration.test_usage_batch_property import (
    BucketSpec,
    LineSpec,
    WorldSpec,
    _build,
    worlds,
)
from topup.charging import charges
from topup.charging.charges import CHARGES, Charge
from topup.charging.sessions import Ask
from topup.charging.tables import charging_grants, usage_records
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.ledger.invariants import check_books
from topup.subscribers import lines as line_svc

asks = st.lists(st.tuples(
    st.sampled_from([1, 2, 3]),
    st.sampled_from(["data", "data", "voice", "sms"]),
    st.sampled_from([0, 0, 1, 600, 5000]),  # used
    st.sampled_from([None, None, 0, 1, 700, 100_000])), max_size=2)  # requested
step = st.tuples(
    st.integers(0, 3),  # session
    st.sampled_from(["initial", "initial", "update", "update", "update", "terminate",
                     "event", "again", "changed", "stale"]),
    st.integers(0, 9),  # line (9: no such line)
    st.sampled_from(["id", "iccid", "imsi", "+msisdn"]),
    st.sampled_from(["TH", "TH", "VN", "JP", None, "1X"]),
    asks,
    st.sampled_from([0, 0, 0, 1, 2, 3]),  # ends a batch here, and the clock moves by…
)
steps = st.lists(step, min_size=2, max_size=16)
MOVES = {1: timedelta(0), 2: timedelta(minutes=3), 3: timedelta(minutes=80)}


def _batches(made: list[line_svc.Line], drawn: list[tuple[Any, ...]]) -> Batches:
    out: Batches = []
    batch: list[Charge] = []
    last: dict[int, Charge] = {}
    for s, op, n, how, country, wanted, cut in drawn:
        ref = f"pgw;{s}"
        before = last.get(s)
        the_asks = tuple(Ask(rg, unit, used=used, requested=req)
                         for rg, unit, used, req in wanted)
        if op in ("again", "changed") and before is not None:
            cmd = before if op == "again" else replace(
                before, asks=tuple(replace(a, used=a.used + 1) for a in before.asks)
                or (Ask(1, "data", used=1),))
        elif op in ("initial", "event"):
            line_id = subscriber = None
            if n != 9:
                line = made[n % len(made)]
                if how == "id":
                    line_id = line.id
                else:
                    subscriber = {"iccid": line.iccid, "imsi": str(line.imsi),
                                  "+msisdn": str(line.msisdn)}[how]
            else:
                subscriber = "89860000000000000000"
            number = before.number + 1 if before else 0
            cmd = Charge(ref, number, op, the_asks, subscriber=subscriber, line_id=line_id,
                         country=country, peer=("pgw.test", "test") if s % 2 else None)
        else:
            number = (before.number if before else 0) + (0 if op == "stale" else 1)
            kind = "update" if op in ("update", "stale", "again", "changed") else op
            cmd = Charge(ref, number, kind, the_asks)
        last[s] = cmd
        batch.append(cmd)
        if cut:
            out.append((batch, MOVES[cut]))
            batch = []
    if batch:
        out.append((batch, timedelta(0)))
    return out


def _one_by_one(db: Database, clock: FrozenClock, batches: Batches) -> list[Any]:
    out: list[Any] = []
    for cmds, move in batches:
        for c in cmds:
            with db.unit() as uow:
                out.append(charges._reference(uow, c))
        clock.now += move
    return out


def _in_batches(db: Database, clock: FrozenClock, batches: Batches) -> list[Any]:
    out: list[Any] = []
    for cmds, move in batches:
        with db.unit() as uow:
            out.extend(CHARGES.apply(uow, cmds))
        clock.now += move
    return out


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=worlds, drawn=steps)
def test_batches_answer_and_write_exactly_as_requests_one_by_one(
        fresh: Callable[[], Database], clock: FrozenClock, spec: WorldSpec,
        drawn: list[tuple[Any, ...]]) -> None:
    answer_and_write_alike(fresh, clock, lambda db: _batches(_build(db, spec), drawn),
                           _one_by_one, _in_batches)


def test_the_common_case_never_leaves_the_batch_path(
        fresh: Callable[[], Database], monkeypatch: pytest.MonkeyPatch) -> None:
    """Openings, updates, a retransmission and terminations of several sessions in one
    batch, drawing a plan and then money, are answered without the reference path."""
    db = fresh()
    plan = BucketSpec(zone="TH", data=3000, voice=0, first_use=False, days=2,
                      started_hours_ago=1, priority=0)
    line = LineSpec(money=10_000, frozen=False, buckets=(plan,))
    made = _build(db, WorldSpec(lines=(line, line, line), rates=(("TH", "data", 3, 100),),
                                shared_number=False))

    def refused(*_: Any) -> Any:
        raise AssertionError("the batch left its own path")

    monkeypatch.setattr(charges, "_reference", refused)
    ask = (Ask(1, "data", requested=2000),)
    used = (Ask(1, "data", used=2000, requested=2000),)
    with db.unit() as uow:
        opened = CHARGES.apply(uow, [Charge(f"s{n.id}", 0, "initial", ask, line_id=n.id,
                                            country="TH") for n in made])
    assert [(a.result, a.grants[0].granted) for a in opened] == [("success", 2000)] * 3
    second = [Charge(f"s{n.id}", 1, "update", used) for n in made]
    last = [Charge(f"s{n.id}", 2, "terminate", (Ask(1, "data", used=1500),)) for n in made]
    with db.unit() as uow:
        answers = CHARGES.apply(uow, [*second, second[0], *last])
    assert answers[3] == answers[0]  # the retransmission, answered the same
    assert all(a.result == "success" for a in answers)
    with db.unit(readonly=True) as uow:
        assert check_books(uow.conn) == []
        assert uow.conn.execute(select(charging_grants).where(
            charging_grants.c.state == "held")).all() == []
        # 2,000 + 1,500 bytes used on each line: its 3,000-byte plan, then 500 bytes of
        # money at 3 per 100 bytes
        charged = uow.conn.execute(select(usage_records.c.money_charged)).scalars().all()
        assert sorted(charged) == [0, 0, 0, 15, 15, 15]
