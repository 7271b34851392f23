"""The quote an order was confirmed with is stored on it (migration 0026) and is one of its
immutable terms, in the schema itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy.exc
from alembic import command
from sqlalchemy import inspect, text

from tests.conftest import pg_database
from tests.factories import make_line, make_user
from topup.db.engine import make_engine
from topup.db.migrate import alembic_config, current, upgrade
from topup.db.uow import Database
from topup.orders.model import OrderRequest
from topup.orders.service import create_order, get_order
from topup.subscribers import lines as line_svc


def manual_credit(db: Database, amount: int = 20_00) -> int:
    line = make_line(db, country="TH", currency="CNY")
    admin = make_user(db, "admin")
    with db.unit() as uow:
        return create_order(uow, admin.id, line_svc.get_line(uow, line.id), OrderRequest(
            kind="topup", method="manual", channel="admin", amount=amount,
            reason="cash desk")).id


def test_a_submitted_orders_quote_cannot_change(db: Database) -> None:
    order_id = manual_credit(db)
    with db.unit(readonly=True) as uow:
        order = get_order(uow, order_id)
    assert order.quote is not None and order.quote["total"] == order.total.amount == 20_00
    assert order.quote["lines"] == [{"kind": "list_price", "name": "list_price",
                                     "amount": 20_00, "ref": None}], \
        "a manual credit carries no fee"
    forged = '{"v": 1, "total": 1}'
    for value in (forged, None):
        with pytest.raises(sqlalchemy.exc.DBAPIError), db.unit() as uow:
            uow.conn.execute(text("UPDATE orders SET quote = :q WHERE id = :id"),
                             {"q": value, "id": order_id})
    with db.unit() as uow:  # not a term: still free to change
        uow.conn.execute(text("UPDATE orders SET channel = 'api' WHERE id = :id"),
                         {"id": order_id})
        assert get_order(uow, order_id).quote == order.quote


def test_migration_0026_goes_down_and_up_again(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        _round_trip(f"sqlite:///{tmp_path / 'trip.db'}")
    else:
        with pg_database(f"topup_test_quotes_{uuid.uuid4().hex[:8]}") as url:
            _round_trip(url)


def _round_trip(url: str) -> None:
    engine = make_engine(url)
    try:
        upgrade(engine)
        assert "quote" in {c["name"] for c in inspect(engine).get_columns("orders")}
        # to the revision before 0026, whichever the migrations are chained onto
        command.downgrade(alembic_config(engine), "0026-1")
        assert current(engine) not in (None, "0026")
        assert "quote" not in {c["name"] for c in inspect(engine).get_columns("orders")}
        upgrade(engine, "0026")
        assert "quote" in {c["name"] for c in inspect(engine).get_columns("orders")}
        upgrade(engine)
    finally:
        engine.dispose()
