"""Support tickets on SQLite and PostgreSQL: a late payment opens one by itself (once), the
traveller and staff write in it, notes stay inside, the queue filters, and the response
times are reported."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_line, make_user
from tests.integration.support.world import pending_payment
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications.tables import outbox
from topup.support import pending, queue, reports, service
from topup.support.errors import InvalidAssignee, InvalidTicket, TicketClosed, TicketNotFound


def _outbox(db: Database) -> list[dict]:
    with db.unit(readonly=True) as uow:
        return [dict(r._mapping) for r in uow.conn.execute(select(outbox).order_by(outbox.c.id))]


def test_a_payment_pending_for_30_minutes_opens_one_ticket_and_tells_the_traveller(
        db: Database, clock: FrozenClock) -> None:
    t = pending_payment(db)
    before = len(_outbox(db))
    clock.advance(minutes=29)
    assert pending.open_for_late_payments(db) == 0, "not late yet"
    clock.advance(minutes=2)
    assert pending.open_for_late_payments(db) == 1
    assert pending.open_for_late_payments(db) == 0, "one ticket per order, however often"
    with db.unit(readonly=True) as uow:
        [ticket] = service.tickets_of(uow, t.user.id)
        said = service.messages(uow, ticket.id)
    assert (ticket.order_id, ticket.line_id, ticket.source, ticket.state) == (
        t.order["id"], t.shop.line_id, "auto", "open")
    assert [(m.kind, m.body) for m in said] == [("system", "payment_pending")]
    told = _outbox(db)[before:]
    assert {(m["channel"], m["template"]) for m in told} == {
        ("email", "ticket_payment_late"), ("sms", "ticket_payment_late")}
    email = next(m for m in told if m["channel"] == "email")
    assert email["recipient"] == t.user.email and email["params"]["order_id"] == t.order["id"]
    assert email["params"]["amount"] == 50_00 and email["params"]["reply_to"].startswith(
        f"topup+t{ticket.id}-")


def test_a_paid_order_opens_no_ticket(db: Database, clock: FrozenClock) -> None:
    t = pending_payment(db)
    t.shop.pay(t.order)
    clock.advance(hours=2)
    assert pending.open_for_late_payments(db) == 0


def test_an_old_backlog_opens_no_ticket(db: Database, clock: FrozenClock) -> None:
    pending_payment(db)
    clock.advance(days=3)  # e.g. the first sweep on a database with old unpaid orders
    assert pending.open_for_late_payments(db) == 0


def test_the_conversation_notes_and_states(db: Database, clock: FrozenClock) -> None:
    t = pending_payment(db)
    agent = make_user(db, "support")
    with db.unit() as uow:
        ticket = service.open_ticket(uow, t.user, "Top-up missing", "I paid, nothing came.",
                                     order_id=t.order["id"])
    assert (ticket.line_id, ticket.state, ticket.source) == (t.shop.line_id, "open", "portal")
    clock.advance(minutes=45)
    with db.unit() as uow:
        service.note(uow, ticket.id, agent.id, "Sandbox shows no capture.")
        service.reply(uow, ticket.id, agent.id, "We are checking with the bank.")
    clock.advance(minutes=10)
    with db.unit() as uow:
        service.customer_message(uow, ticket.id, t.user.id, "Thank you!")
        seen = service.messages(uow, ticket.id)
        inside = service.messages(uow, ticket.id, notes=True)
        ticket = service.get_ticket(uow, ticket.id)
    assert [m.kind for m in seen] == ["customer", "staff", "customer"]
    assert [m.kind for m in inside] == ["customer", "note", "staff", "customer"]
    assert ticket.state == "open" and ticket.assignee_id == agent.id
    assert ticket.first_response_at == ticket.created_at + timedelta(minutes=45)
    with db.unit() as uow:
        service.close(uow, ticket.id, agent.id)
        with pytest.raises(TicketClosed):
            service.reply(uow, ticket.id, agent.id, "too late")
    with db.unit() as uow:  # the traveller writing again reopens it
        service.customer_message(uow, ticket.id, t.user.id, "It happened again")
        assert service.get_ticket(uow, ticket.id).state == "open"
    replies = [m for m in _outbox(db) if m["template"] == "ticket_reply"]
    assert {m["channel"] for m in replies} == {"email", "sms"}
    assert replies[0]["params"]["body"] == "We are checking with the bank."


def test_a_traveller_reaches_only_their_own(db: Database) -> None:
    t = pending_payment(db)
    other = make_user(db)
    stranger_line = make_line(db)
    with db.unit() as uow:
        ticket = service.open_ticket(uow, t.user, "Hello", "A question")
        with pytest.raises(TicketNotFound):
            service.get_ticket(uow, ticket.id, owner=other.id)
        with pytest.raises(TicketNotFound):
            service.customer_message(uow, ticket.id, other.id, "let me in")
        for about in ({"order_id": t.order["id"]}, {"line_id": t.shop.line_id},
                      {"line_id": stranger_line.id}):
            with pytest.raises(InvalidTicket):
                service.open_ticket(uow, other, "Mine?", "no", **about)
        with pytest.raises(InvalidTicket):
            service.open_ticket(uow, t.user, "  ", "empty subject")
        assert service.tickets_of(uow, other.id) == []


def test_the_queue_filters_and_assignment(db: Database, clock: FrozenClock) -> None:
    t = pending_payment(db)
    agent, finance = make_user(db, "support"), make_user(db, "finance")
    with db.unit() as uow:
        old = service.open_ticket(uow, t.user, "Old", "from yesterday")
    clock.advance(days=2)
    with db.unit() as uow:
        new = service.open_ticket(uow, t.user, "New", "just now", line_id=t.shop.line_id)
        service.assign(uow, new.id, agent.id, agent.id)
        with pytest.raises(InvalidAssignee):
            service.assign(uow, new.id, finance.id, agent.id)
        with pytest.raises(InvalidAssignee):
            service.assign(uow, new.id, t.user.id, agent.id)

        def ids(state: str = "active", age: str = "", assignee: int | None = None
                ) -> list[int]:
            return [r.ticket.id for r in queue.queue(uow, queue.Filters(state, age, assignee))]

        assert ids() == [old.id, new.id]
        assert ids(age="1d") == [old.id]
        assert ids(assignee=agent.id) == [new.id] and ids(assignee=0) == [old.id]
        service.close(uow, old.id, agent.id)
        assert ids() == [new.id] and ids(state="closed") == [old.id]
        assert ids(state="all") == [old.id, new.id]
        takers = [i for i, _ in queue.takers(uow)]
        assert agent.id in takers and finance.id not in takers and t.user.id not in takers


def test_first_response_and_resolution_times_per_week(db: Database, clock: FrozenClock
                                                      ) -> None:
    t = pending_payment(db)
    agent = make_user(db, "support")
    for answer, solve in ((10, 60), (20, 120), (30, None), (None, None)):
        with db.unit() as uow:
            ticket = service.open_ticket(uow, t.user, "Q", "?")
        if answer is not None:
            clock.advance(minutes=answer)
            with db.unit() as uow:
                service.reply(uow, ticket.id, agent.id, "A")
        if solve is not None:
            clock.advance(minutes=solve - (answer or 0))
            with db.unit() as uow:
                service.close(uow, ticket.id, agent.id)
        clock.advance(minutes=1)
    with db.unit(readonly=True) as uow:
        [week] = reports.weekly(uow)
        ages = dict(reports.open_by_age(uow))
    assert week.opened == 4
    assert (week.first_response_median, week.first_response_p90) == (20, 30)
    assert (week.resolution_median, week.resolution_p90) == (60, 120)
    assert ages["< 1 h"] == 2 and sum(ages.values()) == 2


def test_percentiles() -> None:
    assert reports.percentile([], 50) is None
    assert reports.percentile([5], 90) == 5
    assert reports.percentile(list(range(1, 11)), 50) == 5
    assert reports.percentile(list(range(1, 11)), 90) == 9
