"""Reports read from a real streaming replica (scripts/replica; docs/replica.md).

The proof that a report read the replica: with replay paused on the replica, a top-up made
on the primary is in the primary's figures but not yet in the report's; once replay resumes
and the replica catches up, the report shows it too. A replica that does not answer, is not
a standby, or is further behind than TOPUP_REPLICA_MAX_LAG_SECONDS leaves the report to the
primary.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import _truncate
from tests.integration.admin.test_dashboard import figure
from tests.integration.portal.conftest import Browser, credit, open_shop
from tests.replica_support import Replica, eventually, replica  # noqa: F401 (a fixture)
from topup.agents.statements import daily_statement
from topup.clock import FrozenClock
from topup.config import load_settings
from topup.db.uow import Database, UnitOfWork
from topup.orders import reports


def topups(uow: UnitOfWork) -> int:
    """The dashboard's top-up figure: money topped up over the last 30 days."""
    since = uow.now - timedelta(days=30)
    return sum(r.amount for r in reports.daily_sales(uow, since) if r.kind == "topup")


def report(db: Database) -> tuple[int, str, datetime | None]:
    with db.unit(readonly=True, replica=True) as uow:
        return topups(uow), uow.source.name, uow.as_of


def figures(browser: Browser) -> tuple[str, bool]:
    """The dashboard's top-up figure, and whether it says "as of"."""
    html = browser.get("/admin").text
    return figure(html, "sales-figures", "Top-ups"), 'id="as-of"' in html


def primary(db: Database) -> int:
    with db.unit(readonly=True) as uow:
        return topups(uow)


@pytest.fixture
def opened() -> Iterator[list[Database]]:
    """Databases made by the test, closed after it (their replica engines too)."""
    made: list[Database] = []
    yield made
    for db in made:
        db.close()
        db.replica.dispose()


def test_a_report_reads_the_replica_and_sees_a_top_up_once_replayed(
        replica: Replica, opened: list[Database], tmp_path: Path,  # noqa: F811
        clock: FrozenClock) -> None:
    db = replica.database(tmp_path, clock)
    opened.append(db)
    shop = open_shop(db)
    credit(db, shop.line, 100_00)
    replica.catch_up()
    want = (100_00, "replica", None)
    assert eventually(lambda: report(db), want) == want

    replica.pause()
    credit(db, shop.line, 50_00)  # a traveller's top-up: on the primary, not yet replayed
    assert primary(db) == 150_00
    assert report(db)[:2] == (100_00, "replica")

    replica.resume()
    replica.catch_up()
    want = (150_00, "replica", None)
    assert eventually(lambda: report(db), want) == want


def test_a_replica_further_behind_than_the_bound_leaves_the_report_to_the_primary(
        replica: Replica, opened: list[Database], tmp_path: Path,  # noqa: F811
        clock: FrozenClock) -> None:
    near = replica.database(tmp_path, clock, replica_max_lag_seconds=1.0)
    far = replica.database(tmp_path, clock, replica_max_lag_seconds=60.0)
    opened.extend([near, far])
    shop = open_shop(near)
    replica.pause()
    credit(near, shop.line, 70_00)
    time.sleep(1.2)  # the replica's last replayed transaction is now over a second old

    with near.unit(readonly=True, replica=True) as uow:
        assert (topups(uow), uow.source.name, uow.source.reason) == (
            70_00, "primary", "too far behind")
    amount, source, as_of = report(far)  # within its bound: the replica, and how old it is
    assert (amount, source) == (0, "replica")
    assert as_of is not None and as_of < datetime.now(UTC) - timedelta(seconds=1)

    replica.resume()
    replica.catch_up()
    want = (70_00, "replica", None)
    assert eventually(lambda: report(near), want) == want


def test_the_dashboard_says_as_of_when_its_replica_lags(
        replica: Replica, opened: list[Database], tmp_path: Path,  # noqa: F811
        clock: FrozenClock) -> None:
    from tests.integration.admin.conftest import sign_in_as

    db = replica.database(tmp_path, clock)
    opened.append(db)
    shop = open_shop(db)
    credit(db, shop.line, 120_00)
    browser = sign_in_as(db, "finance")
    replica.catch_up()
    assert eventually(lambda: figures(browser), ("CN¥120.00", False)) == ("CN¥120.00", False)

    replica.pause()
    time.sleep(1.1)
    credit(db, shop.line, 30_00)
    page = browser.get("/admin")  # the session is read on the primary; the figures are not
    assert page.status_code == 200
    assert figures(browser) == ("CN¥120.00", True)
    assert "These figures are as of" in page.text

    replica.resume()
    replica.catch_up()
    assert eventually(lambda: figures(browser), ("CN¥150.00", False)) == ("CN¥150.00", False)


def test_an_agent_statement_reads_the_replica_even_before_the_float_opens(
        replica: Replica, opened: list[Database], tmp_path: Path,  # noqa: F811
        clock: FrozenClock) -> None:
    from tests.integration.agents.conftest import open_counter

    db = replica.database(tmp_path, clock)
    opened.append(db)
    counter = open_counter(db)
    agent = counter.agent()  # never funded: no float account yet, and a standby cannot add one
    path = f"/api/v1/admin/agents/{agent}/statement"
    replica.catch_up()

    def on_replica() -> tuple[str, int]:
        with db.unit(readonly=True, replica=True) as uow:
            return uow.source.name, daily_statement(uow, agent, uow.now.date()).closing

    assert eventually(on_replica, ("replica", 0)) == ("replica", 0)
    r = counter.api.client.get(path, headers=counter.staff)
    assert (r.status_code, r.json()["closing"]) == (200, 0), r.text

    replica.pause()
    assert counter.fund(agent, 500_00).status_code == 201
    assert counter.float_of(agent) == 500_00  # the primary
    assert counter.api.client.get(path, headers=counter.staff).json()["closing"] == 0
    replica.resume()
    replica.catch_up()
    assert eventually(lambda: counter.api.client.get(path, headers=counter.staff).json()[
        "closing"], 500_00) == 500_00


def _database(engine: Engine, tmp_path: Path, clock: FrozenClock, replica_url: str,
              retry: float) -> Database:
    url = engine.url.render_as_string(hide_password=False)
    return Database(engine, load_settings(
        data_dir=tmp_path, database_url=url, secret_key="test-secret-key",
        replica_url=replica_url, replica_retry_seconds=retry), clock)


@pytest.fixture
def pg(pg_engine: Engine) -> Engine:
    _truncate(pg_engine)
    return pg_engine


def test_an_unreachable_replica_leaves_reports_to_the_primary_for_a_while(
        pg: Engine, tmp_path: Path, clock: FrozenClock) -> None:
    nowhere = pg.url.set(port=9).render_as_string(hide_password=False)  # nothing listens
    db = _database(pg, tmp_path, clock, nowhere, retry=60.0)
    try:
        shop = open_shop(db)
        credit(db, shop.line, 20_00)
        with db.unit(readonly=True, replica=True) as uow:
            assert (topups(uow), uow.source.reason) == (20_00, "unreachable")
        db.replica.url = pg.url.render_as_string(hide_password=False)  # it would answer now,
        with db.unit(readonly=True, replica=True) as uow:  # but is not asked again so soon
            assert (uow.source.name, uow.source.reason) == ("primary", "unreachable")
    finally:
        db.close()
        db.replica.dispose()


def test_a_replica_url_that_is_no_standby_is_not_read(
        pg: Engine, tmp_path: Path, clock: FrozenClock) -> None:
    same = pg.url.render_as_string(hide_password=False)  # the primary itself
    db = _database(pg, tmp_path, clock, same, retry=0.0)
    try:
        with db.unit(readonly=True, replica=True) as uow:
            assert (uow.source.name, uow.source.reason) == ("primary", "not a standby")
    finally:
        db.close()
        db.replica.dispose()


def test_without_a_replica_reports_read_the_primary(db: Database) -> None:
    with db.unit(readonly=True, replica=True) as uow:
        assert (uow.source.name, uow.source.reason, uow.as_of) == ("primary", "", None)
    with pytest.raises(ValueError, match="readonly"), db.unit(replica=True):
        pass


def test_a_replica_needs_a_postgresql_primary(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PostgreSQL TOPUP_DATABASE_URL"):
        load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}",
                      secret_key="k", replica_url="postgresql://u:p@127.0.0.1:5433/topup")
