"""Lines in a group through the batch paths: the writer's usage batch (``USAGE.apply``) and
online charging in batches (``CHARGES.apply``) answer and write exactly as the reference paths
one at a time, on SQLite and PostgreSQL.

Hypothesis draws the worlds of the batch property tests (lines with wallets, buckets in
zones, frozen lines, out-of-bundle rates) and puts some of their lines in a group with caps,
its buyer holding shared buckets (and a member leaving, now and then); the usage records or
charging requests go once in batches and once one by one. Every answer and every row —
records, sessions, grants, holds, transfers, bucket starts, account totals, and the members'
counted use — must be the same. A batch holding a line in a group goes the reference path;
one without stays on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.charging_support import answer_and_write_alike
from tests.charging_support import rows as charging_rows
from tests.conftest import START
from tests.factories import make_user
from tests.integration import test_charge_batch_property as charging_world
from tests.integration import test_usage_batch_property as usage_world
from tests.integration.test_usage_batch_property import (
    BucketSpec,
    LineSpec,
    WorldSpec,
    bucket_specs,
    worlds,
)
from topup.charging import batch, charges
from topup.charging.batch import USAGE, Usage
from topup.charging.buckets import issue_bucket
from topup.charging.charges import CHARGES, Charge
from topup.charging.sessions import Ask
from topup.charging.tables import buckets, group_member_use
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.subscribers import groups
from topup.subscribers import lines as line_svc


@dataclass(frozen=True)
class GroupSpec:
    members: tuple[int, ...]  # indexes into the world's lines (modulo their number)
    caps: tuple[int | None, ...]
    shared: tuple[BucketSpec, ...]  # bought by the first member for the group
    leaves: bool  # the last member leaves before any use


group_specs = st.builds(
    GroupSpec, members=st.sampled_from([(0, 1), (1, 0), (0, 1, 2), (2, 1)]),
    caps=st.tuples(*[st.sampled_from([None, None, 0, 500, 2000])] * 3),
    shared=st.lists(st.builds(
        BucketSpec, zone=st.sampled_from(("TH", "SEA", "TH", "VN")),
        data=st.sampled_from([700, 3000, 3000]), voice=st.sampled_from([0, 60]),
        first_use=st.booleans(), days=st.integers(1, 3), started_hours_ago=st.integers(0, 30),
        priority=st.integers(0, 2)), min_size=1, max_size=3).map(tuple),
    leaves=st.sampled_from([False, False, True]))
# the batch property tests' worlds with two or three lines, so that a group has members
group_worlds = st.builds(
    WorldSpec,
    lines=st.lists(st.builds(LineSpec, money=st.sampled_from([0, 5, 100, 10_000]),
                             frozen=st.sampled_from([False, False, False, False, True]),
                             buckets=st.lists(bucket_specs, max_size=3).map(tuple)),
                   min_size=2, max_size=3).map(tuple),
    rates=worlds.map(lambda w: w.rates), shared_number=st.just(False))
# records and requests mostly of the group's lines where its plans cover them
records = st.lists(st.tuples(
    st.integers(0, 7), st.sampled_from([0, 1, 1, 2, 9]),
    st.sampled_from(["iccid", "msisdn", "imsi"]), st.sampled_from(["data", "data", "voice"]),
    st.sampled_from([600, 2500, 50, 1]), st.sampled_from(["TH", "TH", "VN", "JP"]),
    st.integers(-60, 120).map(lambda m: timedelta(minutes=m)), st.just(False),
), min_size=2, max_size=14)
asks = st.lists(st.tuples(
    st.sampled_from([1, 2]), st.sampled_from(["data", "data", "data", "voice"]),
    st.sampled_from([0, 1, 600, 1500]), st.sampled_from([None, 700, 1200, 100_000])),
    min_size=1, max_size=2, unique_by=lambda a: a[0])


def _opened(drawn: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Each session's first request opens it (an update of no session tells nothing here)."""
    seen: set[int] = set()
    out = []
    for step in drawn:
        if step[0] not in seen and step[1] not in ("initial", "event"):
            step = (step[0], "initial", *step[2:])
        seen.add(step[0])
        out.append(step)
    return out


steps = st.lists(st.tuples(
    st.integers(0, 2),  # session
    st.sampled_from(["update", "update", "update", "terminate", "event", "again"]),
    st.sampled_from([0, 1, 1, 2]),  # line
    st.sampled_from(["id", "iccid"]), st.sampled_from(["TH", "TH", "VN"]), asks,
    st.sampled_from([0, 0, 1, 2, 3]),  # ends a batch here, and the clock moves by…
), min_size=3, max_size=16).map(_opened)


def _group(db: Database, made: list[line_svc.Line], spec: GroupSpec) -> None:
    """The world's lines bound to one traveller, some in a group holding shared buckets."""
    owner = make_user(db)
    members = list(dict.fromkeys(made[i % len(made)] for i in spec.members))
    with db.unit() as uow:
        for line in made:
            assert line_svc.bind(uow, owner.id, line.iccid, "5151") is not None
        group = groups.create_group(uow, owner.id, "trip")
        for line, cap in zip(members, spec.caps, strict=False):
            groups.add_member(uow, group, line.id, cap)
        for n, b in enumerate(spec.shared):
            plan = SimpleNamespace(
                id=900 + n, zone_code=b.zone, priority=b.priority,
                validity_start="first_use" if b.first_use else "purchase",
                validity_days=b.days, data_bytes=b.data, voice_seconds=b.voice, sms_count=0)
            bucket_id, _ = issue_bucket(uow, members[0].id, plan, 9000 + n, group.id)
            if not b.first_use:
                start = uow.now - timedelta(hours=b.started_hours_ago, microseconds=250_000)
                uow.conn.execute(update(buckets).where(buckets.c.id == bucket_id).values(
                    valid_from=start, expires_at=start + timedelta(days=b.days)))
        if spec.leaves and len(members) > 1:
            groups.remove_member(uow, group, members[-1].id)


def _grouped_world(db: Database, spec: WorldSpec, group: GroupSpec) -> list[line_svc.Line]:
    made = usage_world._build(db, spec)
    _group(db, made, group)
    return made


def _rows(db: Database, base: Callable[[Database], dict[str, Any]]) -> dict[str, Any]:
    out = base(db)
    with db.unit(readonly=True) as uow:
        out["member_use"] = [tuple(r) for r in uow.conn.execute(
            select(group_member_use).order_by(group_member_use.c.bucket_id,
                                              group_member_use.c.line_id,
                                              group_member_use.c.unit))]
    return out


SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(spec=group_worlds, group=group_specs, recs=records)
def test_usage_of_grouped_lines_in_a_batch_is_charged_as_one_by_one(
        fresh: Callable[[], Database], spec: WorldSpec, group: GroupSpec,
        recs: list[tuple[Any, ...]]) -> None:
    db = fresh()
    cmds = usage_world._commands(_grouped_world(db, spec, group), recs)
    alone = usage_world._shown(usage_world._one_by_one(db, cmds))
    expected = _rows(db, usage_world._rows)
    db = fresh()
    cmds = usage_world._commands(_grouped_world(db, spec, group), recs)
    assert usage_world._shown(usage_world._batch(db, cmds)) == alone
    assert _rows(db, usage_world._rows) == expected


@SETTINGS
@given(spec=group_worlds, group=group_specs, drawn=steps)
def test_charging_of_grouped_lines_in_batches_is_as_one_by_one(
        fresh: Callable[[], Database], clock: FrozenClock, spec: WorldSpec, group: GroupSpec,
        drawn: list[tuple[Any, ...]]) -> None:
    answer_and_write_alike(
        fresh, clock, lambda db: charging_world._batches(_grouped_world(db, spec, group), drawn),
        charging_world._one_by_one, charging_world._in_batches,
        lambda db: _rows(db, charging_rows))


PLAN = BucketSpec(zone="TH", data=3000, voice=0, first_use=False, days=2,
                  started_hours_ago=1, priority=0)
LINE = LineSpec(money=10_000, frozen=False, buckets=(PLAN,))
WORLD = WorldSpec(lines=(LINE, LINE, LINE), rates=(("TH", "data", 3, 100),),
                  shared_number=False)
# the shared plan ends sooner than the lines' own: it is drawn first
SHARED = GroupSpec(members=(0, 1), caps=(None, 1000, None),
                   shared=(BucketSpec(zone="TH", data=3000, voice=0, first_use=False, days=2,
                                      started_hours_ago=5, priority=0),), leaves=False)


def _counting(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[Any]:
    taken: list[Any] = []
    reference = module._reference

    def counted(uow: Any, cmd: Any) -> Any:
        taken.append(cmd)
        return reference(uow, cmd)

    monkeypatch.setattr(module, "_reference", counted)
    return taken


def test_a_usage_batch_goes_the_reference_way_only_with_a_grouped_line(
        fresh: Callable[[], Database], monkeypatch: pytest.MonkeyPatch) -> None:
    """Records of the line outside the group stay on the batch path; a batch with a member's
    record goes the reference way, and the member's cap holds there: the tablet (cap 1,000
    bytes) takes 1,000 of the shared plan, then its own plan."""
    db = fresh()
    _, tablet, other = _grouped_world(db, WORLD, SHARED)
    taken = _counting(monkeypatch, batch)
    at = START + timedelta(minutes=5)
    with db.unit() as uow:
        USAGE.apply(uow, [Usage("o1", other.iccid, "data", 600, "TH", at)])
    assert taken == []
    with db.unit() as uow:
        out = USAGE.apply(uow, [Usage("o2", other.iccid, "data", 600, "TH", at),
                                Usage("t1", tablet.iccid, "data", 2500, "TH", at)])
    assert [c.record_id for c in taken] == ["o2", "t1"]
    assert out[1][0].from_buckets == 2500
    with db.unit(readonly=True) as uow:
        used = uow.conn.execute(select(group_member_use.c.line_id,
                                       group_member_use.c.used)).all()
    assert [tuple(u) for u in used] == [(tablet.id, 1000)]


def test_a_session_that_outlives_its_lines_stay_in_the_group(
        fresh: Callable[[], Database], clock: FrozenClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tablet opens a session holding on the shared plan, then leaves the group: its next
    update goes the reference way (its grant holds on the group's bucket), commits what it
    used there and counts it for the tablet, and holds only on its own plan from then on."""
    clock.now = START
    db = fresh()
    _, tablet, _ = _grouped_world(db, WORLD, SHARED)
    taken = _counting(monkeypatch, charges)
    with db.unit() as uow:
        (opened,) = CHARGES.apply(uow, [Charge("tab", 0, "initial", (Ask(1, "data", 0, 900),),
                                               line_id=tablet.id, country="TH")])
    assert opened.grants[0].granted == 900 and len(taken) == 1
    with db.unit() as uow:
        stay = groups.membership(uow, tablet.id)
        assert stay is not None
        groups.remove_member(uow, groups.get_group(uow, stay.group_id), tablet.id)
    with db.unit() as uow:
        (after,) = CHARGES.apply(uow, [Charge("tab", 1, "update",
                                              (Ask(1, "data", 700, 3000),))])
    assert len(taken) == 2, "a grant holding on a group's bucket goes the reference way"
    assert after.grants[0].granted == 3000, "its own plan only, all of it"
    with db.unit(readonly=True) as uow:
        used = uow.conn.execute(select(group_member_use.c.line_id,
                                       group_member_use.c.used)).all()
    assert [tuple(u) for u in used] == [(tablet.id, 700)]
