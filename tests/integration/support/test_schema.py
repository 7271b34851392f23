"""The tickets' invariants in the schema (SQLite and PostgreSQL): a closed ticket has its
closing time and an open one none, one platform ticket per order, an e-mail taken once; and
migration 0030 goes down and up again."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy.exc
from alembic import command
from sqlalchemy import insert, inspect, update

from tests.conftest import pg_database
from tests.factories import make_user
from topup.db.engine import make_engine
from topup.db.migrate import alembic_config, current, upgrade
from topup.db.uow import Database
from topup.support import service
from topup.support.tables import ticket_messages, tickets


def test_the_schema_holds_the_invariants(db: Database) -> None:
    user = make_user(db)
    with db.unit() as uow:
        ticket = service.open_ticket(uow, user, "Hello", "Question")
    cases = [
        update(tickets).where(tickets.c.id == ticket.id).values(state="closed"),
        update(tickets).where(tickets.c.id == ticket.id).values(closed_at=db.clock()),
        update(tickets).where(tickets.c.id == ticket.id).values(state="lost"),
        insert(ticket_messages).values(ticket_id=ticket.id, kind="whisper", via="portal",
                                       body="x", created_at=db.clock()),
    ]
    for statement in cases:
        with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:
            uow.conn.execute(statement)
    twice = [insert(tickets).values(subject="s", state="open", source="auto", language="en",
                                    auto_key="pending:1", created_at=db.clock(),
                                    updated_at=db.clock()),
             insert(ticket_messages).values(ticket_id=ticket.id, kind="customer", via="email",
                                            body="x", email_id="<m@x>", created_at=db.clock())]
    for statement in twice:
        with db.unit() as uow:
            uow.conn.execute(statement)
        with pytest.raises(sqlalchemy.exc.IntegrityError), db.unit() as uow:
            uow.conn.execute(statement)


def test_migration_0030_goes_down_and_up_again(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        _round_trip(f"sqlite:///{tmp_path / 'trip.db'}")
    else:
        with pg_database(f"topup_test_tickets_{uuid.uuid4().hex[:8]}") as url:
            _round_trip(url)


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert {"tickets", "ticket_messages"} <= set(inspect(engine).get_table_names())
        command.downgrade(alembic_config(engine), "0030-1")
        assert current(engine) not in (None, "0030")
        assert "tickets" not in set(inspect(engine).get_table_names())
        upgrade(engine)
        assert {"tickets", "ticket_messages"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
