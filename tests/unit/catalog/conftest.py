"""Fixtures for catalogue tests: a fresh SQLite file database per test, and a small world."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import topup.catalog.tables  # registers the catalogue tables on the metadata
import topup.db.schema  # and every other area's tables: prices read campaigns
import topup.ledger.tables  # noqa: F401  (registers the ledger tables on the metadata)
from topup.catalog.service import PlanSpec, upsert_zone
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.engine import make_engine
from topup.db.metadata import metadata
from topup.db.uow import Database, UnitOfWork

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
GB = 1024**3


@pytest.fixture
def catalog_db(tmp_path: Path) -> Iterator[Database]:
    """A ``Database`` on a new SQLite file with every table created, its clock frozen at START."""
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    metadata.create_all(engine)
    settings = load_settings(data_dir=tmp_path, secret_key="test")
    db = Database(engine, settings, clock=FrozenClock(START))
    yield db
    db.dispose()


@pytest.fixture
def catalog_uow(catalog_db: Database) -> Iterator[UnitOfWork]:
    """One unit of work on ``catalog_db``; committed when the test passes."""
    with catalog_db.unit() as uow:
        yield uow


def add_world(uow: UnitOfWork) -> None:
    """Countries TH, MY, JP, FR, DE, CN; regions SEA (TH, MY), EU (FR, DE, IT), GLOBAL (all)."""
    for code, en, zh in [("TH", "Thailand", "泰国"), ("MY", "Malaysia", "马来西亚"),
                         ("JP", "Japan", "日本"), ("FR", "France", "法国"),
                         ("DE", "Germany", "德国"), ("CN", "Chinese mainland", "中国大陆")]:
        upsert_zone(uow, code, "country", en, zh, [])
    upsert_zone(uow, "SEA", "region", "South-East Asia", "东南亚", ["TH", "MY"])
    upsert_zone(uow, "EU", "region", "Europe", "欧洲", ["FR", "DE", "IT"])
    upsert_zone(uow, "GLOBAL", "region", "Global", "全球",
                ["TH", "MY", "JP", "FR", "DE", "IT", "CN", "US"])


@pytest.fixture
def world(catalog_uow: UnitOfWork) -> UnitOfWork:
    """``catalog_uow`` with the zones of ``add_world``."""
    add_world(catalog_uow)
    return catalog_uow


@pytest.fixture
def spec() -> Callable[..., PlanSpec]:
    """Build a ``PlanSpec``: Thailand 7 days 10 GB at 49 CNY unless told otherwise."""

    def make(**changes: Any) -> PlanSpec:
        base: dict[str, Any] = {
            "code": "TH-7D-10GB", "name_en": "Thailand 7 days 10 GB", "name_zh": "泰国 7天 10GB",
            "zone_code": "TH", "kind": "week", "data_bytes": 10 * GB, "validity_days": 7,
            "prices": {"CNY": 4900, "USD": 699},
        }
        return PlanSpec(**(base | changes))

    return make


@pytest.fixture
def world_db(catalog_db: Database) -> Database:
    """``catalog_db`` with the zones of ``add_world`` committed (for multi-transaction tests)."""
    with catalog_db.unit() as uow:
        add_world(uow)
    return catalog_db
