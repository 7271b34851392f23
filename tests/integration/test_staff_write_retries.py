"""The staff API, a console form and a USSD flow meet serialization failures on the real
PostgreSQL: a trigger fails the first two inserts of the row each request writes (its audit
entry, or the USSD reply's idempotency record) with SQLSTATE 40001. The request runs its unit
again and succeeds once: one audit entry, two retries counted, nothing given up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conflicts import forced
from tests.factories import Api, iccid, make_line, make_user
from tests.integration.admin.conftest import sign_in_as
from tests.integration.channels.conftest import World, world  # noqa: F401 (a fixture)
from tests.integration.channels.test_ussd import say
from topup.agents import agents as agent_svc
from topup.audit.tables import audit_log
from topup.db.uow import Database
from topup.orders.tables import idempotency_keys
from topup.subscribers import lines as line_svc

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("backend", ["postgres"])]
TWICE = 2


@dataclass(frozen=True)
class Write:
    """One staff API write: the audit action it records, the request and its answer."""

    action: str
    method: str
    path: str  # {line} and {agent}: a line and an agent made for the test
    body: dict[str, Any]
    status: int


WRITES = [
    Write("line.create", "POST", "/api/v1/admin/lines",
          {"iccid": iccid(), "secret": "4f7q-2k9x", "currency": "CNY"}, 201),
    Write("line.freeze", "POST", "/api/v1/admin/lines/{line}/freeze", {"reason": "fraud"}, 200),
    Write("user.create", "POST", "/api/v1/admin/staff",
          {"email": "desk@example.com", "password": "a-long-password", "role": "support"}, 201),
    Write("agent.tier_set", "PUT", "/api/v1/admin/agent-tiers/gold",
          {"name": "Gold", "topup_bp": 200, "voucher_bp": 300}, 200),
    Write("agent.create", "POST", "/api/v1/admin/agents",
          {"kind": "store", "name": "Corner", "tier": "std", "country": "HK",
           "currency": "CNY"}, 201),
    Write("agent.suspend", "POST", "/api/v1/admin/agents/{agent}/suspend",
          {"reason": "audit pending"}, 200),
    Write("terminal.create", "POST", "/api/v1/admin/agents/{agent}/terminals",
          {"label": "till 1"}, 201),
    Write("catalog.presets", "PUT", "/api/v1/admin/presets/CNY", {"amounts": [50_00, 100_00]},
          204),
    Write("catalog.fx_rate", "PUT", "/api/v1/admin/fx-rates",
          {"base": "USD", "quote": "CNY", "rate": "7.1"}, 204),
    Write("promotions.create", "POST", "/api/v1/admin/campaigns",
          {"kind": "discount", "name": "Spring", "percent_bp": 1000, "scope": {},
           "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z"}, 201),
    Write("voucher_batch.create", "POST", "/api/v1/admin/voucher-batches",
          {"count": 4, "face_amount": 20_00, "currency": "CNY",
           "expires_at": "2030-01-01T00:00:00Z"}, 201),
]


def audited(db: Database, action: str) -> int:
    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.count()).where(
            audit_log.c.action == action)).scalar_one())


def retried_twice(db: Database) -> None:
    assert db.retry_stats.snapshot() == {
        "retries": {"serialization_failure": TWICE, "deadlock_detected": 0}, "gave_up": 0}


@pytest.mark.parametrize("write", WRITES, ids=[w.action for w in WRITES])
def test_a_staff_api_write_that_meets_40001_twice_succeeds_once(db: Database,
                                                                write: Write) -> None:
    api = Api(db)
    staff = api.login(str(make_user(db, "admin").email))
    with db.unit() as uow:
        agent_svc.set_tier(uow, "std", "Standard", 150, 300, actor_id=None)
        agent = agent_svc.create_agent(uow, agent_svc.AgentSpec(
            kind="store", name="Lucky Mart", tier="std", country="HK", currency="CNY"),
            actor_id=None)
    path = write.path.format(line=make_line(db).id, agent=agent.id)
    before = audited(db, write.action)
    with forced(db, "audit_log", times=TWICE, when=f"NEW.action = '{write.action}'") as raised:
        r = api.client.request(write.method, path, headers=staff, json=write.body)
        assert r.status_code == write.status, r.text
        assert raised() == TWICE
    assert audited(db, write.action) == before + 1
    retried_twice(db)


def test_a_console_form_that_meets_40001_twice_freezes_the_line_once(db: Database) -> None:
    line = make_line(db)
    b, page = sign_in_as(db, "support"), f"/admin/lines/{line.id}"
    with forced(db, "audit_log", times=TWICE, when="NEW.action = 'line.freeze'") as raised:
        done = b.submit(page, f"{page}/freeze", {"state_reason": "lost phone reported"})
        assert raised() == TWICE
    assert done.status_code == 200 and "The line is frozen." in done.text
    with db.unit(readonly=True) as uow:
        assert line_svc.get_line(uow, line.id).status == "frozen"
    assert audited(db, "line.freeze") == 1
    retried_twice(db)


def test_a_ussd_plan_purchase_that_meets_40001_twice_is_bought_once(
        world: World) -> None:  # noqa: F811
    world.credit(100_00)
    with forced(world.db, "idempotency_keys", times=TWICE) as raised:
        done = say(world, "2*3*1")
        assert raised() == TWICE
    assert done == "END Done: Thailand 7 days 10 GB is active. Balance CN¥51.00."
    assert world.wallet() == 51_00
    with world.db.unit(readonly=True) as uow:
        assert uow.conn.execute(select(func.count()).select_from(idempotency_keys)
                                ).scalar_one() == 1
    retried_twice(world.db)
