"""Fixtures for API tests: a client per database, and the demo catalogue."""

from __future__ import annotations

import pytest

from tests.factories import Api
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
