"""Online charging sessions (charging/sessions.py), told as a gateway would live them.

A traveller's line holds a first-use Japan data plan and some money; a packet gateway opens a
session, reports use and asks for more, then ends it. Another line has only a little money in
Thailand and runs out mid-session, and is granted again after a top-up. A gateway that goes
silent has its session released. The books balance after each (the suite's fixture)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import START
from tests.factories import fund, make_line
from topup.catalog import service as catalog
from topup.charging.buckets import issue_bucket
from topup.charging.charges import CHARGES, Charge
from topup.charging.errors import (
    ChargingRequestConflict,
    ChargingSessionClosed,
    ChargingSessionNotFound,
    InvalidChargingRequest,
)
from topup.charging.sessions import (
    EXPIRY_STEP,
    MARGIN,
    QUOTA,
    VALIDITY,
    Ask,
    charge,
    held_now,
    release_silent,
)
from topup.charging.tables import bucket_units, buckets, charging_sessions, usage_records
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers import lines as line_svc

MIB = 1024**2


def line_with_money(db: Database, amount: int) -> line_svc.Line:
    line = make_line(db)
    fund(db, line, amount, f"seed:{line.id}")
    return line


def balances(db: Database, line: line_svc.Line, bucket_id: int | None = None
             ) -> tuple[Any, ...]:
    """(wallet posted, wallet held, bucket posted, bucket held)."""
    with db.unit(readonly=True) as uow:
        wallet = ledger.balance(uow, ledger.wallet(uow, line.id, "CNY"))
        out: tuple[Any, ...] = (wallet.posted, wallet.pending_debits)
        if bucket_id is not None:
            account = uow.conn.execute(select(bucket_units.c.account_id).where(
                bucket_units.c.bucket_id == bucket_id)).scalar_one()
            b = ledger.balance(uow, account)
            out += (b.posted, b.pending_debits)
    return out


def ask(db: Database, ref: str, number: int, kind: str, asks: list[Ask],
        line: line_svc.Line | None = None, country: str | None = None) -> Any:
    with db.unit() as uow:
        return charge(uow, ref, number, kind, asks, line=line, country=country)


def test_a_session_draws_the_plan_and_commits_exactly_what_was_used(catalogue: Database
                                                                    ) -> None:
    line = line_with_money(catalogue, 50_00)
    with catalogue.unit() as uow:
        plan = catalog.get_plan_by_code(uow, "JP-8D-15GB")  # starts at first use
        bucket_id, _ = issue_bucket(uow, line.id, plan, 910_001)
    _, _, total, _ = balances(catalogue, line, bucket_id)

    first = ask(catalogue, "gw;1", 0, "initial", [Ask(1, "data")], line, "jp")
    assert (first.result, [(g.rating_group, g.result, g.granted, g.final) for g in first.grants]
            ) == ("success", [(1, "success", QUOTA["data"], False)])
    assert first.grants[0].validity_seconds == VALIDITY.total_seconds()
    assert balances(catalogue, line, bucket_id) == (50_00, 0, total, QUOTA["data"])
    with catalogue.unit(readonly=True) as uow:
        started = uow.conn.execute(select(buckets.c.valid_from).where(
            buckets.c.id == bucket_id)).scalar_one()
        assert held_now(uow, line.id) == {"data": QUOTA["data"]}
    assert started == START, "a first-use plan starts with the session that uses it"

    second = ask(catalogue, "gw;1", 1, "update", [Ask(1, "data", used=8 * MIB)])
    assert second.grants[0].granted == QUOTA["data"]
    assert balances(catalogue, line, bucket_id) == (50_00, 0, total - 8 * MIB, QUOTA["data"])

    again = ask(catalogue, "gw;1", 1, "update", [Ask(1, "data", used=8 * MIB)])
    assert again == second, "a retransmission gets the same answer"
    assert balances(catalogue, line, bucket_id) == (50_00, 0, total - 8 * MIB, QUOTA["data"]), \
        "and moves nothing"
    with pytest.raises(ChargingRequestConflict):
        ask(catalogue, "gw;1", 1, "update", [Ask(1, "data", used=9 * MIB)])

    last = ask(catalogue, "gw;1", 2, "terminate", [Ask(1, "data", used=5 * MIB)])
    assert last.grants[0].granted == 0 and last.result == "success"
    assert balances(catalogue, line, bucket_id) == (50_00, 0, total - 13 * MIB, 0)
    with catalogue.unit(readonly=True) as uow:
        used = uow.conn.execute(select(usage_records.c.quantity, usage_records.c.from_buckets,
                                       usage_records.c.money_charged).where(
            usage_records.c.line_id == line.id).order_by(usage_records.c.id)).all()
        state = uow.conn.execute(select(charging_sessions.c.state)).scalar_one()
        assert held_now(uow, line.id) == {}
    assert [tuple(u) for u in used] == [(8 * MIB, 8 * MIB, 0), (5 * MIB, 5 * MIB, 0)]
    assert state == "closed"
    with pytest.raises(ChargingSessionClosed):
        ask(catalogue, "gw;1", 3, "update", [Ask(1, "data", used=MIB)])


def test_a_short_balance_gets_a_final_grant_then_the_credit_limit(catalogue: Database) -> None:
    line = line_with_money(catalogue, 1_00)  # 2 MiB at 0.50 CNY per MiB in Thailand

    first = ask(catalogue, "gw;2", 0, "initial", [Ask(7, "data")], line, "TH")
    assert [(g.result, g.granted, g.final) for g in first.grants] == [("success", 2 * MIB, True)]
    assert balances(catalogue, line) == (1_00, 1_00)

    out = ask(catalogue, "gw;2", 1, "update", [Ask(7, "data", used=2 * MIB)])
    assert (out.result, out.grants[0].result, out.grants[0].granted) == (
        "credit_limit_reached", "credit_limit_reached", 0)
    assert balances(catalogue, line) == (0, 0)

    fund(catalogue, line, 50, "seed:again")
    out = ask(catalogue, "gw;2", 2, "update", [Ask(7, "data", requested=5 * MIB)])
    assert [(g.result, g.granted, g.final) for g in out.grants] == [("success", MIB, True)]
    out = ask(catalogue, "gw;2", 3, "terminate", [Ask(7, "data", used=3 * MIB)])
    assert balances(catalogue, line) == (0, 0), "1 MiB held and used; 2 more used, uncovered"
    with catalogue.unit(readonly=True) as uow:
        last = uow.conn.execute(select(usage_records).order_by(usage_records.c.id.desc())).first()
    assert (last.quantity, last.from_money, last.money_charged, last.uncovered) == (
        3 * MIB, MIB, 50, 2 * MIB)


def test_a_silent_session_is_released_and_moves_nothing(catalogue: Database) -> None:
    line = line_with_money(catalogue, 10_00)
    ask(catalogue, "gw;3", 0, "initial", [Ask(1, "data", requested=4 * MIB),
                                          Ask(2, "sms", requested=3)], line, "TH")
    assert balances(catalogue, line) == (10_00, 2_00 + 1_50)
    with catalogue.unit() as uow:
        assert release_silent(uow) == 0, "still within its validity"
    catalogue.clock.advance(seconds=(VALIDITY + MARGIN).total_seconds())  # type: ignore[attr-defined]
    with catalogue.unit() as uow:
        assert release_silent(uow) == 1
    assert balances(catalogue, line) == (10_00, 0)
    with pytest.raises(ChargingSessionClosed):
        ask(catalogue, "gw;3", 1, "update", [Ask(1, "data", used=MIB)])


@pytest.mark.parametrize("batched", [False, True], ids=["one by one", "in a batch"])
def test_a_session_asked_often_expires_by_the_minute(catalogue: Database, batched: bool
                                                     ) -> None:
    """Its expiry moves when it would move by ``EXPIRY_STEP`` or more, never less: released
    between ``MARGIN`` less a step and ``MARGIN`` after its last grant ran out."""
    line = line_with_money(catalogue, 10_00)
    clock: Any = catalogue.clock

    def send(number: int, kind: str) -> None:
        asks = [Ask(1, "data", used=0 if kind == "initial" else MIB, requested=MIB)]
        if not batched:
            ask(catalogue, "gw;often", number, kind, asks, line, "TH")
            return
        with catalogue.unit() as uow:
            [out] = CHARGES.apply(uow, [Charge("gw;often", number, kind, tuple(asks),
                                               line_id=line.id, country="TH")])
        assert not isinstance(out, Exception)

    def expires() -> Any:
        with catalogue.unit(readonly=True) as uow:
            return uow.conn.execute(select(charging_sessions.c.expires_at).where(
                charging_sessions.c.ref == "gw;often")).scalar_one()

    send(0, "initial")
    first = expires()
    assert first == START + VALIDITY + MARGIN
    clock.advance(seconds=(EXPIRY_STEP / 2).total_seconds())
    send(1, "update")
    assert expires() == first, "half a step later: left where it was"
    clock.advance(seconds=(EXPIRY_STEP / 2).total_seconds())
    send(2, "update")
    assert expires() == START + EXPIRY_STEP + VALIDITY + MARGIN, "a step later: moved"
    clock.advance(seconds=(EXPIRY_STEP / 2).total_seconds())
    send(3, "update")
    last = START + EXPIRY_STEP * 3 / 2
    clock.advance(seconds=(expires() - last).total_seconds() - 1)
    with catalogue.unit() as uow:
        assert release_silent(uow) == 0, "not before its last grant's validity and a margin"
    assert expires() - last == VALIDITY + MARGIN - EXPIRY_STEP / 2
    clock.advance(seconds=1)
    with catalogue.unit() as uow:
        assert release_silent(uow) == 1
    assert balances(catalogue, line) == (10_00 - 3 * 50, 0), "three MiB used, none held"


def test_requests_that_cannot_be_answered_are_refused(catalogue: Database) -> None:
    line = line_with_money(catalogue, 10_00)
    with pytest.raises(ChargingSessionNotFound):
        ask(catalogue, "nobody", 1, "update", [Ask(1, "data", used=MIB)])
    for bad in ([Ask(1, "fax")], [Ask(1, "data"), Ask(1, "data")], [Ask(1, "data", used=-1)],
                []):
        with pytest.raises(InvalidChargingRequest):
            ask(catalogue, "gw;4", 0, "initial", bad, line, "TH")
    with pytest.raises(InvalidChargingRequest):
        ask(catalogue, "gw;4", 0, "initial", [Ask(1, "data")])  # no line
    ask(catalogue, "gw;4", 0, "initial", [Ask(1, "data")], line, "TH")
    with pytest.raises(ChargingRequestConflict):
        ask(catalogue, "gw;4", 5, "initial", [Ask(1, "data")], line, "TH")
    ask(catalogue, "gw;4", 3, "update", [Ask(1, "data", used=MIB)])
    with pytest.raises(ChargingRequestConflict):  # an older number never answered
        ask(catalogue, "gw;4", 2, "update", [Ask(1, "data", used=MIB)])


def test_an_event_is_debited_whole_or_not_at_all(catalogue: Database) -> None:
    line = line_with_money(catalogue, 1_20)  # SMS in Thailand: 0.50 CNY each
    sent = ask(catalogue, "smsc;1", 0, "event", [Ask(3, "sms", requested=2)], line, "TH")
    assert [(g.result, g.granted, g.validity_seconds) for g in sent.grants] == [
        ("success", 2, 0)]
    assert balances(catalogue, line) == (20, 0), "debited at once, nothing held"
    assert ask(catalogue, "smsc;1", 0, "event", [Ask(3, "sms", requested=2)], line,
               "TH") == sent, "a retransmission debits nothing more"
    short = ask(catalogue, "smsc;2", 0, "event", [Ask(3, "sms", requested=1)], line, "TH")
    assert (short.result, short.grants[0].granted) == ("credit_limit_reached", 0)
    assert balances(catalogue, line) == (20, 0), "not a part of it"
    with pytest.raises(ChargingSessionClosed):
        ask(catalogue, "smsc;1", 1, "update", [Ask(3, "sms", used=1)])
    with catalogue.unit(readonly=True) as uow:
        sms = uow.conn.execute(select(usage_records.c.quantity, usage_records.c.money_charged)
                               .where(usage_records.c.line_id == line.id)).all()
    assert [tuple(u) for u in sms] == [(2, 1_00)]


def in_batch(db: Database, ref: str, number: int, kind: str, asks: list[Ask],
             line: line_svc.Line | None = None, country: str | None = None) -> Any:
    """``ask``, as the writer applies it: a ``Charge`` in a batch of ``CHARGES``."""
    with db.unit() as uow:
        (out,) = CHARGES.apply(uow, [Charge(ref, number, kind, tuple(asks),
                                            line_id=line.id if line else None,
                                            country=country)])
    if isinstance(out, Exception):
        raise out
    return out


@pytest.mark.parametrize("swept_first", [False, True])
@pytest.mark.parametrize("path", ["charge", "batch"])
def test_a_hold_that_outlived_its_timeout_covers_nothing(catalogue: Database, clock: Any,
                                                         swept_first: bool, path: str) -> None:
    """A gateway silent for longer than a hold lasts (while no sweep ran), then back: its
    report is recorded, none of it is charged (the hold is released, by the ledger's own
    expiry sweep or now), and the next grant is held afresh."""
    request = ask if path == "charge" else in_batch
    line = line_with_money(catalogue, 50_00)
    request(catalogue, "gw;late", 0, "initial", [Ask(1, "data")], line, "TH")
    held = balances(catalogue, line)[1]
    assert held > 0
    clock.advance(minutes=90)  # past VALIDITY + MARGIN + the holds' slack
    if swept_first:
        with catalogue.unit() as uow:
            assert ledger.void_expired(uow) == 1
    late = request(catalogue, "gw;late", 1, "update", [Ask(1, "data", used=MIB)])
    assert late.result == "success" and late.grants[0].granted == QUOTA["data"]
    assert balances(catalogue, line) == (50_00, held)  # nothing charged; the new grant held
    with catalogue.unit(readonly=True) as uow:
        record = uow.conn.execute(select(usage_records).where(
            usage_records.c.line_id == line.id)).one()
    assert (record.quantity, record.money_charged, record.uncovered) == (MIB, 0, MIB)
    request(catalogue, "gw;late", 2, "terminate", [Ask(1, "data")])
    assert balances(catalogue, line) == (50_00, 0)
