"""Write transactions that PostgreSQL aborts (40001, 40P01) are run again, on the real server:
a trigger fails the first inserts with a serialization failure, two threads lock two wallets
in crossing order for a true deadlock. The work commits once, nothing is doubled, the books
balance (the ``db`` fixture checks them), and when the tries run out the caller gets
``TransactionConflict``: the API's 503 problem with Retry-After."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select

from tests.conflicts import Crossed, forced
from tests.factories import make_line, sandbox_shop
from topup.audit.tables import audit_log
from topup.channels.api.app import create_app
from topup.db.retry import RetryPolicy, TransactionConflict
from topup.db.uow import Database, UnitOfWork
from topup.jobs.claims import Claimed, SlotTaken, runs
from topup.ledger import service as ledger
from topup.ledger.accounts import MANUAL_CREDIT, REVENUE
from topup.ledger.tables import transfers

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("backend", ["postgres"])]
FAST = RetryPolicy(attempts=3, seconds=2.0, base=0.01, cap=0.05)


@dataclass(frozen=True)
class Books:
    source: int
    wallet: int
    revenue: int


def books(db: Database, line_id: int = 4242) -> Books:
    with db.unit() as uow:
        unit = ledger.money_unit("CNY")
        return Books(ledger.operator_account(uow, MANUAL_CREDIT, unit, line_id=line_id),
                     ledger.wallet(uow, line_id, "CNY"),
                     ledger.operator_account(uow, REVENUE, unit))


def credit(acc: Books, key: str, amount: int, note: str = "") -> Any:
    """A unit of work: credit the wallet, then write an audit note (where a trigger bites)."""
    def work(uow: UnitOfWork) -> int:
        done = ledger.transfer(uow, key, acc.source, acc.wallet, amount, code="topup")
        uow.conn.execute(insert(audit_log).values(at=uow.now, actor_id=None,
                                                  action="test.credit", target=note or key,
                                                  data={}))
        return done.id
    return work


def counted(db: Database, key_prefix: str) -> tuple[int, int]:
    """(transfers whose idempotency id starts with the prefix, their audit notes)."""
    with db.unit(readonly=True) as uow:
        moved = uow.conn.execute(select(func.count()).where(
            transfers.c.idempotency_id.like(f"{key_prefix}%"))).scalar_one()
        notes = uow.conn.execute(select(func.count()).where(
            audit_log.c.action == "test.credit")).scalar_one()
    return int(moved), int(notes)


def balance(db: Database, account: int) -> int:
    with db.unit(readonly=True) as uow:
        return ledger.balance(uow, account).posted


def test_a_unit_failing_twice_with_40001_commits_once_on_its_third_try(db: Database) -> None:
    acc = books(db)
    with forced(db, "audit_log", times=2, when="NEW.target = 'conflict'") as raised:
        done = db.transact(credit(acc, "retry:1", 10_00, "conflict"))
        assert raised() == 2
    assert counted(db, "retry:") == (1, 1)
    assert balance(db, acc.wallet) == 10_00
    assert db.retry_stats.snapshot() == {
        "retries": {"serialization_failure": 2, "deadlock_detected": 0}, "gave_up": 0}
    with db.unit(readonly=True) as uow:
        found = ledger.find_transfer(uow, "retry:1")
        assert found is not None and found.id == done


def test_a_unit_that_keeps_failing_gives_up_with_a_503_and_writes_nothing(db: Database) -> None:
    acc = books(db)
    db.retry_policy = FAST
    started = time.monotonic()
    with forced(db, "audit_log", times=1000, when="NEW.target = 'conflict'") as raised:
        with pytest.raises(TransactionConflict) as refused:
            db.transact(credit(acc, "retry:lost", 10_00, "conflict"))
        assert raised() == FAST.attempts
    assert time.monotonic() - started < FAST.seconds + 1
    assert refused.value.status == 503 and refused.value.extra["retry_after"] == 1
    assert counted(db, "retry:") == (0, 0)
    assert db.retry_stats.snapshot()["gave_up"] == 1


def test_a_real_deadlock_between_two_units_is_broken_and_the_victim_runs_again(
        db: Database) -> None:
    """Both units lock the two wallets, in opposite orders, then credit them: PostgreSQL
    aborts one with 40P01; it runs again once the other has committed."""
    one, two = books(db, 1), books(db, 2)
    crossing = Crossed("ledger_accounts", one.wallet, two.wallet)
    answers: list[Any] = [None, None]

    def side(i: int, acc: Books) -> None:
        def work(uow: UnitOfWork) -> int:
            crossing.lock(uow, i)
            return int(credit(acc, f"dead:{i}", 5_00)(uow))
        try:
            answers[i] = db.transact(work)
        except Exception as exc:
            answers[i] = exc

    threads = [threading.Thread(target=side, args=(i, acc)) for i, acc in enumerate((one, two))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert all(isinstance(a, int) for a in answers), answers
    assert sorted(crossing.tries) == [1, 2], "exactly one victim, run once more"
    assert db.retry_stats.snapshot()["retries"] == {"serialization_failure": 0,
                                                   "deadlock_detected": 1}
    assert counted(db, "dead:") == (2, 2)
    assert balance(db, one.wallet) == balance(db, two.wallet) == 5_00


def test_a_scheduled_job_whose_claim_conflicts_runs_once(db: Database) -> None:
    """The worker loop's claim of a slot is retried; the job itself runs once, not per try."""
    ran: list[int] = []

    def work(_: Database) -> int:
        ran.append(1)
        return 7

    job = Claimed("retry_test", timedelta(minutes=1), work, worker="node-a")
    with forced(db, "job_runs", times=2, errcode="40P01") as raised:
        assert job.run(db) == 7
        assert raised() == 2
    assert ran == [1]
    assert [(name, worker) for name, _, worker in runs(db)] == [("retry_test", "node-a")]
    with pytest.raises(SlotTaken):  # another node, the same slot: taken, nothing run
        Claimed("retry_test", timedelta(minutes=1), work, worker="node-b").run(db)
    assert ran == [1]


def test_the_api_answers_503_with_retry_after_when_the_tries_run_out(db: Database) -> None:
    """A staff credit (through the writer) and a registration (``Database.transact``), each
    failing on every try, and a top-up paid through a provider (a unit not retried: its
    driver error reaches the edge after one try): 503 problems, nothing written; the same
    requests later work."""
    db.retry_policy = FAST
    shop = sandbox_shop(db, country="TH")
    api, staff = shop.api, shop.staff
    line = make_line(db, country="TH")
    body = {"amount": 10_00, "currency": "CNY", "reason": "cash desk"}
    with forced(db, "ledger_transfers", times=1000):
        r = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key="c-1", json=body)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "transaction_conflict"
        assert r.headers["Retry-After"] == "1"
    with forced(db, "users", times=1000):
        r = api.client.post("/api/v1/auth/register",
                            json={"email": "late@example.com", "password": "a-long-password"})
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "transaction_conflict" and r.headers["Retry-After"] == "1"
    assert db.retry_stats.snapshot()["gave_up"] == 1, "the registration was retried"
    paid = {"line_id": shop.line_id, "kind": "topup", "amount": 100_00, "method": "sandbox"}
    with forced(db, "orders", times=1000, errcode="40P01") as raised:
        r = api.post("/api/v1/orders", shop.me, key="paid-1", json=paid)
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "transaction_conflict" and r.headers["Retry-After"] == "1"
        assert raised() == 1, "a unit that starts a payment is tried once"
    assert db.retry_stats.snapshot()["gave_up"] == 1
    assert counted(db, "order:") == (0, 0)
    scraped = TestClient(create_app(db), client=("127.0.0.1", 50000)).get("/metrics").text
    assert 'topup_writer_conflict_retries_total{sqlstate="serialization_failure"} 2.0' in scraped
    assert "topup_writer_conflicts_given_up_total 1.0" in scraped
    again = api.post(f"/api/v1/admin/lines/{line.id}/credit", staff, key="c-1", json=body)
    assert again.status_code == 201, again.text
    assert api.client.post("/api/v1/auth/register", json={
        "email": "late@example.com", "password": "a-long-password"}).status_code == 201
    again = api.post("/api/v1/orders", shop.me, key="paid-1", json=paid)
    assert again.status_code == 201 and again.json()["state"] == "awaiting_payment", again.text
    db.writer.close()
