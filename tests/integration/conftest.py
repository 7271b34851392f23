"""Fixtures for API tests: a client per database, the demo catalogue, and fresh databases
for tests that build the same world twice."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest

from tests.conftest import _truncate, settings_for
from tests.factories import Api
from topup.clock import FrozenClock
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog


@pytest.fixture
def api(db: Database) -> Api:
    """An API client on the test database."""
    return Api(db)


@pytest.fixture
def catalogue(db: Database) -> Database:
    """The demo catalogue loaded into the test database."""
    with db.unit() as uow:
        seed_catalog(uow)
    return db


@pytest.fixture
def fresh(backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FrozenClock
          ) -> Callable[[], Database]:
    """A factory of empty migrated databases, each with caches of its own."""
    made = count()

    def new() -> Database:
        if backend == "sqlite":
            path = tmp_path / f"world{next(made)}.db"
            shutil.copy(request.getfixturevalue("sqlite_template"), path)
            engine = make_engine(f"sqlite:///{path}")
        else:
            engine = request.getfixturevalue("pg_engine")
            _truncate(engine)
        return Database(engine, settings_for(tmp_path, str(engine.url.render_as_string(
            hide_password=False))), clock)

    return new
