"""One batch through ``USAGE.apply`` charges exactly as ``record_usage`` one record at a time.

Hypothesis draws small worlds (a few lines with wallets, buckets of data and voice in zones,
started or waiting for first use, some lines frozen, out-of-bundle rates) and a sequence of
usage records (repeated record ids, changed contents, unknown lines, dates outside the
window, bad countries). The world is built twice, identically, on fresh databases; the
records go once as a single batch and once one by one through the reference path. Every
answer and every row that charging writes — usage records, ledger transfers, bucket starts,
account totals — must be the same, and the books must balance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta, timezone
from itertools import count
from types import SimpleNamespace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from tests.conftest import START
from tests.factories import iccid
from topup.catalog.pricing import set_oob_rate
from topup.catalog.zones import upsert_zone
from topup.channels.api.views import usage_out
from topup.charging.batch import USAGE, Usage
from topup.charging.buckets import issue_bucket
from topup.charging.service import record_usage
from topup.charging.tables import buckets, usage_records
from topup.db.uow import Database
from topup.errors import TopupError
from topup.ledger import service as ledger
from topup.ledger.invariants import check_books
from topup.ledger.tables import accounts, transfers
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import find_line

ZONES = ("TH", "VN", "JP", "SEA")
COUNTRIES = ("TH", "TH", "VN", "JP", "CN", "th", "1X")


@dataclass(frozen=True)
class BucketSpec:
    zone: str
    data: int
    voice: int
    first_use: bool
    days: int
    started_hours_ago: int
    priority: int


@dataclass(frozen=True)
class LineSpec:
    money: int
    frozen: bool
    buckets: tuple[BucketSpec, ...]


@dataclass(frozen=True)
class WorldSpec:
    lines: tuple[LineSpec, ...]
    rates: tuple[tuple[str, str, int, int], ...]  # zone, unit, rate, per quantity
    shared_number: bool  # line 2's IMSI is line 1's MSISDN: an identifier naming two lines


bucket_specs = st.builds(
    BucketSpec, zone=st.sampled_from(("TH", "SEA", "TH", "SEA", "VN", "JP")),
    data=st.sampled_from([700, 3000, 1, 0]),
    voice=st.sampled_from([0, 60, 600]), first_use=st.booleans(),
    days=st.integers(1, 3), started_hours_ago=st.integers(0, 80),
    priority=st.integers(0, 2)).filter(lambda b: b.data or b.voice)
worlds = st.builds(
    WorldSpec,
    lines=st.lists(st.builds(LineSpec, money=st.sampled_from([0, 5, 100, 10_000]),
                             frozen=st.sampled_from([False, False, False, False, True]),
                             buckets=st.lists(bucket_specs, min_size=1, max_size=4).map(tuple)),
                   min_size=1, max_size=3).map(tuple),
    rates=st.lists(st.tuples(st.sampled_from(ZONES), st.sampled_from(["data", "voice", "sms"]),
                             st.integers(1, 30), st.sampled_from([1, 7, 100])),
                   max_size=4, unique_by=lambda r: (r[0], r[1])).map(tuple),
    shared_number=st.booleans())
# one record in five dated outside the window the network may report in
offsets = st.tuples(st.integers(0, 9), st.integers(-72 * 60, 23 * 60)).map(
    lambda t: {8: timedelta(days=-31), 9: timedelta(days=2)}.get(t[0], timedelta(minutes=t[1])))
records = st.lists(st.tuples(
    st.integers(0, 5),  # record id: repeats are likely
    st.integers(0, 9),  # line (9: no such line)
    st.sampled_from(["iccid", "msisdn", "+msisdn", "imsi"]),
    st.sampled_from(["data", "data", "voice", "sms"]),
    st.sampled_from([600, 2500, 50, 1]),
    st.sampled_from(COUNTRIES),
    offsets,
    st.booleans(),  # stamped in UTC+08:00 instead of UTC
), min_size=2, max_size=14)


def _build(db: Database, spec: WorldSpec) -> list[line_svc.Line]:
    orders = count(1)
    with db.unit() as uow:
        upsert_zone(uow, "TH", "country", "Thailand", "泰国", ["TH"])
        upsert_zone(uow, "VN", "country", "Vietnam", "越南", ["VN"])
        upsert_zone(uow, "JP", "country", "Japan", "日本", ["JP"])
        upsert_zone(uow, "SEA", "region", "South-East Asia", "东南亚", ["TH", "VN"])
        for zone, unit, rate, per in spec.rates:
            set_oob_rate(uow, zone, "CNY", unit, rate, per)
        made = []
        for n, ls in enumerate(spec.lines):
            imsi = f"86130000000000{n}" if not (spec.shared_number and n == 1) else "8613000000000"
            line = line_svc.create_line(uow, line_svc.LineSpec(
                iccid=iccid(9000 + n), secret="5151", currency="CNY", home_country="CN",
                kind="sim", msisdn=f"+86130000000{n:02d}", imsi=imsi))
            if ls.money:
                ledger.transfer(uow, f"seed:{line.id}", ledger.operator_account(
                    uow, "manual_credit", "money:CNY", line_id=line.id),
                    ledger.wallet(uow, line.id, "CNY"), ls.money, code="topup")
            for b in ls.buckets:
                _bucket(uow, line.id, b, next(orders))
            if ls.frozen:
                line_svc.freeze(uow, line.id, actor=None, reason="suspected fraud")
            made.append(line)
    return made


def _bucket(uow: Any, line_id: int, b: BucketSpec, order_id: int) -> None:
    plan = SimpleNamespace(id=order_id, zone_code=b.zone, priority=b.priority,
                           validity_start="first_use" if b.first_use else "purchase",
                           validity_days=b.days, data_bytes=b.data, voice_seconds=b.voice,
                           sms_count=0)
    bucket_id, _ = issue_bucket(uow, line_id, plan, order_id)
    if not b.first_use:
        start = uow.now - timedelta(hours=b.started_hours_ago, microseconds=250_000)
        uow.conn.execute(update(buckets).where(buckets.c.id == bucket_id).values(
            valid_from=start, expires_at=start + timedelta(days=b.days)))


def _commands(made: list[line_svc.Line], recs: list[tuple[Any, ...]]) -> list[Usage]:
    out = []
    for rid, n, how, unit, quantity, country, offset, east in recs:
        if n == 9:
            ident = "89860000000000000000"
        else:
            line = made[n % len(made)]
            ident = {"iccid": line.iccid, "msisdn": str(line.msisdn).lstrip("+"),
                     "+msisdn": str(line.msisdn), "imsi": str(line.imsi)}[how]
        at = START + offset
        if east:
            at = at.astimezone(timezone(timedelta(hours=8)))
        out.append(Usage(f"r{rid}", ident, unit, quantity, country, at))
    return out


def _one_by_one(db: Database, cmds: list[Usage]) -> list[Any]:
    out: list[Any] = []
    for c in cmds:
        try:
            with db.unit() as uow:
                line = find_line(uow, str(c.line))
                out.append(record_usage(uow, c.record_id, line, c.unit, c.quantity, c.country,
                                        c.occurred_at))
        except TopupError as exc:
            out.append(exc)
    return out


def _batch(db: Database, cmds: list[Usage]) -> list[Any]:
    with db.unit() as uow:
        return USAGE.apply(uow, cmds)


def _shown(outcomes: list[Any]) -> list[Any]:
    """Answers as the API words them: the JSON body and whether it is new, or the refusal."""
    return [(type(o).__name__, o.code, str(o)) if isinstance(o, TopupError)
            else (usage_out(o[0]).model_dump(mode="json"), o[1]) for o in outcomes]


def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.unit(readonly=True) as uow:
        assert check_books(uow.conn) == []
        return {
            "records": [tuple(r) for r in uow.conn.execute(
                select(usage_records).order_by(usage_records.c.id))],
            "transfers": [tuple(r) for r in uow.conn.execute(
                select(transfers).order_by(transfers.c.id))],
            "buckets": [tuple(r) for r in uow.conn.execute(
                select(buckets.c.id, buckets.c.valid_from, buckets.c.expires_at,
                       buckets.c.state).order_by(buckets.c.id))],
            "accounts": [tuple(r) for r in uow.conn.execute(
                select(accounts).order_by(accounts.c.id))],
        }


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=worlds, recs=records)
def test_a_batch_charges_exactly_as_records_one_by_one(
        fresh: Callable[[], Database], spec: WorldSpec, recs: list[tuple[Any, ...]]) -> None:
    db = fresh()
    cmds = _commands(_build(db, spec), recs)
    alone = _shown(_one_by_one(db, cmds))
    expected = _rows(db)
    db = fresh()
    cmds = _commands(_build(db, spec), recs)
    assert _shown(_batch(db, cmds)) == alone
    assert _rows(db) == expected
