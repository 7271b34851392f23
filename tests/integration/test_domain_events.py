"""Domain events: published on the unit of work, handled in its transaction before COMMIT;
a rolled-back savepoint takes its events with it; an event nobody handles fails its unit."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from tests.factories import make_line
from tests.integration.notifications.test_confirmations import (
    MSISDN,
    credit,
    outbox_of,
    traveller,
)
from topup.audit.service import record as audit
from topup.audit.tables import audit_log
from topup.db.events import Handlers, UnhandledEvent, register
from topup.db.uow import Database, UnitOfWork
from topup.orders.model import OrderRequest
from topup.orders.service import create_order


@dataclass(frozen=True)
class Noted:
    what: str


@dataclass(frozen=True)
class Echoed:
    what: str


def audits(db: Database, action: str) -> int:
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.count()).select_from(audit_log).where(
            audit_log.c.action == action)).scalar_one())


def own(db: Database, handlers: Handlers) -> Database:
    return Database(db.engine, db.settings, db.clock, handlers=handlers)


def test_handlers_write_in_the_same_transaction_and_may_publish_more(db: Database) -> None:
    handlers: Handlers = {}  # a private mapping, not the shared one
    register(Noted, lambda uow, e: (audit(uow, None, "test.noted", e.what),
                                    uow.publish(Echoed(e.what))), handlers)
    register(Echoed, lambda uow, e: audit(uow, None, "test.echoed", e.what), handlers)
    mine = own(db, handlers)
    with mine.unit() as uow:
        uow.publish(Noted("a"))
        assert audits(db, "test.noted") == 0  # not yet: handled when the block ends
    assert (audits(db, "test.noted"), audits(db, "test.echoed")) == (1, 1)


def test_a_failing_handler_rolls_the_whole_unit_back(db: Database) -> None:
    def boom(uow: UnitOfWork, event: Noted) -> None:
        raise RuntimeError(event.what)

    mine = own(db, {Noted: [boom]})
    with pytest.raises(RuntimeError, match="late"), mine.unit() as uow:
        audit(uow, None, "test.before", "written by the command")
        uow.publish(Noted("late"))
    assert audits(db, "test.before") == 0


def test_a_savepoint_that_rolls_back_drops_its_events(db: Database) -> None:
    mine = own(db, {Noted: [lambda uow, e: audit(uow, None, f"test.{e.what}", "")]})
    with mine.unit() as uow:
        uow.publish(Noted("kept"))
        with pytest.raises(ValueError), uow.savepoint():
            uow.publish(Noted("dropped"))
            raise ValueError("refused")
        with uow.savepoint():
            uow.publish(Noted("nested"))
    assert [audits(db, f"test.{w}") for w in ("kept", "dropped", "nested")] == [1, 0, 1]


def test_an_event_nobody_handles_fails_its_unit(db: Database) -> None:
    with pytest.raises(UnhandledEvent), own(db, {}).unit() as uow:
        audit(uow, None, "test.unhandled", "")
        uow.publish(Noted("x"))
    assert audits(db, "test.unhandled") == 0


def test_a_credit_refused_in_a_savepoint_queues_no_confirmation(db: Database) -> None:
    user, line = traveller(db)
    with db.unit() as uow, pytest.raises(ValueError), uow.savepoint():
        create_order(uow, None, line, OrderRequest(
            kind="topup", method="manual", channel="admin", amount=100_00,
            currency="CNY", reason="undone"))
        raise ValueError("refused after the order was fulfilled")
    assert outbox_of(db, str(user.email)) == [] and outbox_of(db, f"+{MSISDN}") == []


def test_each_confirmation_states_the_balance_its_own_order_left(db: Database) -> None:
    """Handlers run at the end of the unit; two credits in one transaction still confirm
    100 then 300, not the final balance twice."""
    user, line = traveller(db)
    with db.unit() as uow:
        for amount in (100_00, 200_00):
            create_order(uow, None, line, OrderRequest(
                kind="topup", method="manual", channel="admin", amount=amount,
                currency="CNY", reason="cash desk", confirm_duplicate=True))
    mails = sorted(outbox_of(db, str(user.email)), key=lambda m: m["params"]["order_id"])
    assert [m["params"]["balance"] for m in mails] == [100_00, 300_00]
    credit(db, line, 50_00)
    assert max(m["params"]["balance"] for m in outbox_of(db, str(user.email))) == 350_00


def test_a_line_with_nobody_to_tell_still_fulfils(db: Database) -> None:
    line = make_line(db, country="TH")
    assert credit(db, line) > 0
