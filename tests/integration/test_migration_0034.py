"""Migration 0034 on SQLite and PostgreSQL: sessions made before it get counters that say
what their closed grants used (open grants, other units and other sessions apart), the
grants are indexed while open only, and it goes down and up again."""

from __future__ import annotations

import uuid
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, select, text

from tests.conftest import pg_database
from tests.factories import make_line
from topup.charging.sessions import live_sessions
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.migrate import alembic_config, upgrade
from topup.db.uow import Database

AT = "2026-12-01 08:00:00"  # as the column keeps UTC (naive) on both databases


def test_migration_0034_counts_what_each_session_used(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        _story(f"sqlite:///{tmp_path / 'm34.db'}", tmp_path)
    else:
        with pg_database(f"topup_test_m34_{uuid.uuid4().hex[:8]}") as url:
            _story(url, tmp_path)


def _story(url: str, tmp_path: Path) -> None:
    engine = make_engine(url)
    try:
        command.upgrade(alembic_config(engine), "0033")
        db = Database(engine, load_settings(data_dir=tmp_path, database_url=url))
        line = make_line(db)
        with engine.begin() as conn:
            for ref, state in (("a", "open"), ("b", "open"), ("c", "closed")):
                conn.execute(text(
                    "INSERT INTO charging_sessions (ref, line_id, country, state, last_number,"
                    " created_at, updated_at, expires_at, starved) VALUES (:ref, :line, 'TH',"
                    " :state, 3, :at, :at, :at, false)"), {"ref": ref, "line": line.id,
                                                           "state": state, "at": AT})
            ids = dict(conn.execute(text("SELECT ref, id FROM charging_sessions")).all())
            for ref, unit, granted, used, state in (
                    ("a", "data", 100, 70, "closed"), ("a", "data", 100, 100, "closed"),
                    ("a", "data", 100, None, "held"), ("a", "voice", 60, 30, "closed"),
                    ("b", "data", 50, 0, "closed"), ("c", "data", 10, 10, "closed")):
                conn.execute(text(
                    "INSERT INTO charging_grants (session_id, rating_group, unit, granted,"
                    " used, final, state, valid_until, created_at, closed_at) VALUES (:sid, 1,"
                    " :unit, :granted, :used, false, :state, :at, :at, :closed)"),
                    {"sid": ids[ref], "unit": unit, "granted": granted, "used": used,
                     "state": state, "at": AT, "closed": AT if state == "closed" else None})
        upgrade(engine)
        with engine.connect() as conn:
            counted = {r.ref: (r.used_data, r.used_voice, r.used_sms) for r in conn.execute(
                text("SELECT ref, used_data, used_voice, used_sms FROM charging_sessions"))}
        assert counted == {"a": (170, 30, 0), "b": (0, 0, 0), "c": (10, 0, 0)}
        with db.unit(readonly=True) as uow:
            live = {s.ref: (s.held, s.used) for s in live_sessions(uow, line.id)}
        assert live == {"a": ({"data": 100}, {"data": 170, "voice": 30}), "b": ({}, {})}
        indexes = {i["name"] for i in inspect(engine).get_indexes("charging_grants")}
        assert "ix_charging_grants_held" in indexes
        assert "ix_charging_grants_session" not in indexes

        command.downgrade(alembic_config(engine), "0033")
        columns = {c["name"] for c in inspect(engine).get_columns("charging_sessions")}
        assert "used_data" not in columns
        assert "ix_charging_grants_session" in {
            i["name"] for i in inspect(engine).get_indexes("charging_grants")}
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(select(text("used_data")).select_from(
                text("charging_sessions")).where(text("ref = 'a'"))).scalar_one() == 170
    finally:
        engine.dispose()
