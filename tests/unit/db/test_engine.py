"""``TOPUP_DATABASE_POOLER``: how PostgreSQL is reached, and what the engine makes of it
(docs/pgbouncer.md; the pooler itself in tests/integration/test_pgbouncer.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from topup.config import database_pooler, load_settings
from topup.db.engine import make_engine


@pytest.mark.parametrize(("value", "pooler"), [
    ("", ""), ("none", ""), ("session", ""), ("transaction", "transaction"),
    (" Transaction ", "transaction")])
def test_the_pooler_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str,
                            pooler: str) -> None:
    monkeypatch.setenv("TOPUP_DATABASE_POOLER", value)
    assert database_pooler() == pooler
    assert load_settings(data_dir=tmp_path, secret_key="k").database_pooler == pooler


def test_a_statement_pooler_is_refused_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPUP_DATABASE_POOLER", "statement")
    with pytest.raises(ValueError, match="TOPUP_DATABASE_POOLER"):
        database_pooler()


def _threshold(engine: Engine) -> Any:
    try:
        with engine.connect() as conn:
            return conn.connection.driver_connection.prepare_threshold  # type: ignore[union-attr]
    finally:
        engine.dispose()


def test_behind_a_transaction_pooler_postgresql_prepares_nothing(
        pg_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    url = pg_engine.url.render_as_string(hide_password=False)
    assert _threshold(make_engine(url, pooler="transaction")) is None
    assert _threshold(make_engine(url, pooler="")) == 5  # psycopg's default
    monkeypatch.setenv("TOPUP_DATABASE_POOLER", "transaction")  # read when not given
    assert _threshold(make_engine(url)) is None
    monkeypatch.setenv("TOPUP_DATABASE_POOLER", "")
    assert _threshold(make_engine(url)) == 5
