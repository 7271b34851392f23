"""The ledger under concurrent writers on PostgreSQL: row locks in id order, UNIQUE idempotency
ids and resolve-at-most-once must keep the books exact when threads race on one wallet."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.ledger.accounts import REVENUE, clearing_kind
from topup.ledger.errors import (
    InsufficientFunds,
    LedgerError,
    PendingAlreadyResolved,
)

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("backend", ["postgres"])]

THREADS = 8
OPS_PER_THREAD = 150
LINE_ID = 4242  # ledger_accounts.line_id has no foreign key: no line row is needed


@dataclass(frozen=True)
class Accounts:
    clearing: int
    revenue: int
    wallet: int


def open_accounts(db: Database, opening: int = 0) -> Accounts:
    with db.unit() as uow:
        acc = Accounts(
            clearing=ledger.operator_account(uow, clearing_kind("sandbox"),
                                             ledger.money_unit("CNY")),
            revenue=ledger.operator_account(uow, REVENUE, ledger.money_unit("CNY")),
            wallet=ledger.wallet(uow, LINE_ID, "CNY"),
        )
        if opening:
            ledger.transfer(uow, "opening", acc.clearing, acc.wallet, opening, code="topup")
    return acc


@dataclass(frozen=True)
class Op:
    idem: str
    credit: bool  # operator -> wallet; else wallet -> revenue
    amount: int


def run_threads(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    start = threading.Barrier(n)

    def go(i: int) -> Any:
        start.wait()
        return work(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_threads_hammering_one_wallet_keep_it_exact(db: Database) -> None:
    acc = open_accounts(db)
    rng = random.Random(20261122)
    # Pairs of threads replay the same operations (same idempotency ids) in nearly the same
    # order, so that retries race each other; debits are larger than credits on average, so
    # the wallet runs dry and many debits must be refused.
    groups = [
        [Op(f"g{g}-op{k}", credit=(credit := rng.random() < 0.5),
            amount=rng.randint(1, 100) if credit else rng.randint(1, 130))
         for k in range(OPS_PER_THREAD)]
        for g in range(THREADS // 2)
    ]
    ops = {op.idem: op for group in groups for op in group}

    def schedule(i: int) -> list[Op]:
        ops_ = list(groups[i // 2])
        if i % 2:  # the twin thread swaps some neighbours so that the race goes both ways
            for k in range(0, len(ops_) - 1, 3):
                ops_[k], ops_[k + 1] = ops_[k + 1], ops_[k]
        return ops_

    def work(i: int) -> list[tuple[str, object]]:
        results: list[tuple[str, object]] = []
        for op in schedule(i):
            debit, credit = ((acc.clearing, acc.wallet) if op.credit
                             else (acc.wallet, acc.revenue))
            try:
                with db.unit() as uow:
                    t = ledger.transfer(uow, op.idem, debit, credit, op.amount, code="race")
                results.append((op.idem, t))
            except InsufficientFunds as exc:
                results.append((op.idem, exc))
            except Exception as exc:  # anything else is a failure, reported below
                results.append((op.idem, exc))
        return results

    started = time.monotonic()
    outcomes = [r for rs in run_threads(work) for r in rs]
    elapsed = time.monotonic() - started

    unexpected = [(i, repr(r)) for i, r in outcomes
                  if not isinstance(r, ledger.Transfer | InsufficientFunds)]
    assert unexpected == []
    by_id: dict[str, list[object]] = defaultdict(list)
    for idem, r in outcomes:
        by_id[idem].append(r)
    assert all(len(rs) == 2 for rs in by_id.values())
    # An id succeeded when any attempt got a Transfer. Its twin may have been refused with
    # InsufficientFunds only when it ran first (a refusal writes nothing, so a later attempt
    # may then succeed); a retry that queued behind the winner gets the winner's transfer.
    succeeded: dict[str, ledger.Transfer] = {}
    for idem, rs in by_id.items():
        made = [r for r in rs if isinstance(r, ledger.Transfer)]
        if made:
            assert all(t == made[0] for t in made), made  # a retry returns the first transfer
            succeeded[idem] = made[0]
            assert made[0].amount == ops[idem].amount
    refusals = [r for _, r in outcomes if isinstance(r, InsufficientFunds)]
    assert all(not ops[i].credit for i, r in outcomes if isinstance(r, InsufficientFunds))
    assert refusals, "the wallet never ran short: the test does not exercise refusals"
    assert any(not ops[i].credit for i in succeeded), "no debit ever succeeded"

    credits = sum(ops[i].amount for i in succeeded if ops[i].credit)
    debits = sum(ops[i].amount for i in succeeded if not ops[i].credit)
    with db.unit(readonly=True) as uow:
        wallet = ledger.balance(uow, acc.wallet)
        assert (wallet.posted, wallet.pending_debits, wallet.pending_credits) == (
            credits - debits, 0, 0)
        assert ledger.balance(uow, acc.clearing).posted == -credits
        assert ledger.balance(uow, acc.revenue).posted == debits
        assert ledger.count_transfers(uow) == len(succeeded)
        stored = {t.idempotency_id: t for t in ledger.account_transfers(
            uow, [acc.wallet], limit=10 * len(ops))}
        assert stored == succeeded
    # The db fixture proves check_books(conn) == [] after the test.
    assert elapsed < 20, f"too slow: {elapsed:.1f}s"


@pytest.mark.parametrize("mix", ["post", "post-and-void"])
def test_one_pending_resolved_concurrently_is_resolved_once(db: Database, mix: str) -> None:
    acc = open_accounts(db, opening=1000)
    with db.unit() as uow:
        p = ledger.transfer(uow, "session", acc.wallet, acc.revenue, 400, code="charging",
                            pending=True)

    def work(i: int) -> object:
        try:
            with db.unit() as uow:
                if mix == "post-and-void" and i % 2:
                    return ledger.void_pending(uow, f"void-{i}", p.id)
                return ledger.post_pending(uow, f"post-{i}", p.id, 100 + i)
        except LedgerError as exc:
            return exc

    results = run_threads(work)
    won = [r for r in results if isinstance(r, ledger.Transfer)]
    assert len(won) == 1, results
    assert all(isinstance(r, PendingAlreadyResolved) for r in results if r is not won[0])
    posted = won[0].amount if won[0].kind == "post_pending" else 0
    with db.unit(readonly=True) as uow:
        wallet = ledger.balance(uow, acc.wallet)
        assert (wallet.posted, wallet.pending_debits) == (1000 - posted, 0)
        assert ledger.balance(uow, acc.revenue).posted == posted
        assert ledger.count_transfers(uow) == 3


def _wait_for_lock_waiters(db: Database, n: int, timeout: float = 10.0) -> None:
    """Block until ``n`` other sessions wait on a lock in this database."""
    deadline = time.monotonic() + timeout
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'")).scalar()
            if waiting == n:
                return
            time.sleep(0.01)
    raise AssertionError(f"{n} sessions never queued on the lock")


def _race_retries_behind_an_open_unit(
    db: Database, first: Callable[[Any], ledger.Transfer],
) -> tuple[ledger.Transfer, list[object]]:
    """Run ``first`` in a unit left open while THREADS retries of it queue on its row locks,
    then commit it and collect what each retry got."""
    with ThreadPoolExecutor(THREADS) as pool:
        with db.unit() as uow:
            made = first(uow)

            def retry(_: int) -> object:
                try:
                    with db.unit() as uow2:
                        return first(uow2)
                except LedgerError as exc:
                    return exc

            futures = [pool.submit(retry, i) for i in range(THREADS)]
            _wait_for_lock_waiters(db, THREADS)
        results = [f.result(timeout=30) for f in futures]
    return made, results


def test_racing_retries_of_a_debit_move_value_once(db: Database) -> None:
    acc = open_accounts(db, opening=100)
    made, results = _race_retries_behind_an_open_unit(
        db, lambda uow: ledger.transfer(uow, "buy-all", acc.wallet, acc.revenue, 100,
                                        code="purchase"))
    assert all(r == made or isinstance(r, InsufficientFunds) for r in results), results
    with db.unit(readonly=True) as uow:
        assert ledger.balance(uow, acc.wallet).posted == 0
        assert ledger.count_transfers(uow) == 2


def test_racing_retries_of_a_debit_return_the_first_transfer(db: Database) -> None:
    acc = open_accounts(db, opening=100)
    made, results = _race_retries_behind_an_open_unit(
        db, lambda uow: ledger.transfer(uow, "buy-all", acc.wallet, acc.revenue, 100,
                                        code="purchase"))
    assert Counter(type(r).__name__ for r in results) == {"Transfer": THREADS}
    assert results == [made] * THREADS


def test_racing_retries_of_a_credit_return_the_first_transfer(db: Database) -> None:
    acc = open_accounts(db)
    made, results = _race_retries_behind_an_open_unit(
        db, lambda uow: ledger.transfer(uow, "topup", acc.clearing, acc.wallet, 100,
                                        code="topup"))
    assert results == [made] * THREADS
    with db.unit(readonly=True) as uow:
        assert ledger.balance(uow, acc.wallet).posted == 100
        assert ledger.count_transfers(uow) == 1


def _post_race(db: Database) -> tuple[Accounts, ledger.Transfer, list[object]]:
    acc = open_accounts(db, opening=1000)
    with db.unit() as uow:
        p = ledger.transfer(uow, "session", acc.wallet, acc.revenue, 400, code="charging",
                            pending=True)
    made, results = _race_retries_behind_an_open_unit(
        db, lambda uow: ledger.post_pending(uow, "session:post", p.id, 300))
    return acc, made, results


def test_racing_retries_of_a_post_move_value_once(db: Database) -> None:
    acc, made, results = _post_race(db)
    assert all(r == made or isinstance(r, PendingAlreadyResolved) for r in results), results
    with db.unit(readonly=True) as uow:
        assert ledger.balance(uow, acc.wallet).posted == 700
        assert ledger.balance(uow, acc.revenue).posted == 300
        assert ledger.count_transfers(uow) == 3


def test_racing_retries_of_a_post_return_the_first_post(db: Database) -> None:
    _, made, results = _post_race(db)
    assert Counter(type(r).__name__ for r in results) == {"Transfer": THREADS}
    assert results == [made] * THREADS
