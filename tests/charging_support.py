"""The frame of the online-charging property tests: one world built twice, identically, on
fresh databases; the same requests sent once each of two ways; the answers and every row
charging writes compared.

``answer_and_write_alike`` is that frame; test_charge_batch_property.py (one by one, then in
batches), test_group_batches.py (the same, with lines in a group) and test_writer_pipeline.py
(applied, then decided and written as the pipelined writer does) each pass it their two ways.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.conftest import START
from topup.charging.charges import Charge
from topup.charging.tables import (
    buckets,
    charging_grants,
    charging_holds,
    charging_requests,
    charging_sessions,
    usage_records,
)
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.errors import TopupError
from topup.ledger.invariants import check_books
from topup.ledger.tables import accounts, transfers

Batches = list[tuple[list[Charge], timedelta]]  # requests, then how far the clock moves
Way = Callable[[Database, FrozenClock, Batches], list[Any]]  # the batches' answers, in order
Rows = Callable[[Database], dict[str, list[tuple[Any, ...]]]]


def shown(outcomes: list[Any]) -> list[Any]:
    """Answers as the API words them: the answer's JSON, or the refusal."""
    return [(type(o).__name__, o.code, str(o)) if isinstance(o, TopupError) else o.as_json()
            for o in outcomes]


def rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row online charging writes, in a stable order; the books must balance."""
    with db.unit(readonly=True) as uow:
        assert check_books(uow.conn) == []
        tables = {"sessions": charging_sessions, "grants": charging_grants,
                  "holds": charging_holds, "records": usage_records, "transfers": transfers,
                  "accounts": accounts}
        out = {name: [tuple(r) for r in uow.conn.execute(select(t).order_by(t.c.id))]
               for name, t in tables.items()}
        out["requests"] = [tuple(r) for r in uow.conn.execute(select(charging_requests).order_by(
            charging_requests.c.session_id, charging_requests.c.number))]
        out["buckets"] = [tuple(r) for r in uow.conn.execute(
            select(buckets.c.id, buckets.c.valid_from, buckets.c.expires_at).order_by(
                buckets.c.id))]
        return out


def answer_and_write_alike(fresh: Callable[[], Database], clock: FrozenClock,
                           world: Callable[[Database], Batches], first: Way, second: Way,
                           written: Rows = rows) -> None:
    """``world`` builds the world in a database and cuts the requests into batches; it runs
    on two fresh databases, the clock at START each time. ``second`` must give the answers
    ``first`` gave and leave the rows (``written``) it left."""
    clock.now = START
    db = fresh()
    answers = shown(first(db, clock, world(db)))
    expected = written(db)
    clock.now = START
    db = fresh()
    assert shown(second(db, clock, world(db))) == answers
    assert written(db) == expected
