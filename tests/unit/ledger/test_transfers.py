"""The ledger service on both back ends: posted and two-phase transfers, idempotency, refusals,
and the guards that live in the schema itself (triggers and CHECK constraints)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from topup.clock import FrozenClock
from topup.db.uow import Database, UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import REVENUE, clearing_kind
from topup.ledger.errors import (
    AccountNotFound,
    InsufficientFunds,
    InvalidTransfer,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    PostExceedsPending,
    TransferIdempotencyConflict,
    UnitMismatch,
)
from topup.ledger.tables import accounts, transfers

CNY = ledger.money_unit("CNY")
EUR = ledger.money_unit("EUR")


@dataclass(frozen=True)
class Books:
    clearing: int  # operator: payment clearing, may go negative
    revenue: int  # operator
    alice: int  # customer wallet (no overdraft)
    bob: int  # customer wallet (no overdraft)
    euro: int  # customer wallet in another unit


def open_books(db: Database, *, fund_alice: int = 0) -> Books:
    with db.unit() as uow:
        books = Books(
            clearing=ledger.operator_account(uow, clearing_kind("sandbox"), CNY),
            revenue=ledger.operator_account(uow, REVENUE, CNY),
            alice=ledger.wallet(uow, 1, "CNY"),
            bob=ledger.wallet(uow, 2, "CNY"),
            euro=ledger.wallet(uow, 1, "EUR"),
        )
        if fund_alice:
            ledger.transfer(uow, "fund-alice", books.clearing, books.alice, fund_alice,
                            code="topup")
    return books


def posted(uow: UnitOfWork, account_id: int) -> int:
    return ledger.balance(uow, account_id).posted


def test_accounts_are_opened_once_with_their_kind(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        assert ledger.wallet(uow, 1, "CNY") == books.alice
        assert ledger.operator_account(uow, clearing_kind("sandbox"), CNY) == books.clearing
        row = uow.conn.execute(select(accounts).where(accounts.c.id == books.alice)).one()
        assert (row.unit, row.kind, row.line_id, row.no_overdraft) == (CNY, "wallet", 1, True)
        op = uow.conn.execute(select(accounts).where(accounts.c.id == books.clearing)).one()
        assert (op.no_overdraft, op.line_id) == (False, None)
        assert set(ledger.wallets(uow, 1)) == {"CNY", "EUR"}
        assert ledger.wallets(uow, 1)["CNY"].account_id == books.alice


def test_posted_transfer_moves_balances(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        t = ledger.transfer(uow, "t1", books.clearing, books.alice, 1000, code="topup",
                            ref="order:1")
        assert (t.debit_account_id, t.credit_account_id, t.amount) == (
            books.clearing, books.alice, 1000)
        assert (t.kind, t.unit, t.code, t.ref, t.pending_id, t.timeout_at) == (
            "posted", CNY, "topup", "order:1", None, None)
    with db.unit() as uow:
        ledger.transfer(uow, "t2", books.alice, books.revenue, 300, code="purchase")
    with db.unit() as uow:
        assert posted(uow, books.clearing) == -1000
        assert posted(uow, books.alice) == 700
        assert posted(uow, books.revenue) == 300
        assert posted(uow, books.bob) == 0
        alice = ledger.balance(uow, books.alice)
        assert (alice.pending_debits, alice.pending_credits, alice.available) == (0, 0, 700)
        assert ledger.count_transfers(uow) == 2
        newest = ledger.account_transfers(uow, [books.alice], limit=10)
        assert [x.idempotency_id for x in newest] == ["t2", "t1"]
        older = ledger.account_transfers(uow, [books.alice], limit=10, before=newest[0].id)
        assert [x.idempotency_id for x in older] == ["t1"]


def test_customer_account_refuses_overdraft_and_writes_nothing(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        with pytest.raises(InsufficientFunds) as refused:
            ledger.transfer(uow, "too-much", books.alice, books.revenue, 101, code="purchase")
        assert refused.value.extra == {"account_id": books.alice, "available": 100, "needed": 101}
        assert posted(uow, books.alice) == 100 and posted(uow, books.revenue) == 0
        # The caller catches the refusal and carries on in the same unit of work.
        ledger.transfer(uow, "exact", books.alice, books.revenue, 100, code="purchase")
    with db.unit() as uow:
        assert posted(uow, books.alice) == 0
        assert posted(uow, books.revenue) == 100
        assert ledger.count_transfers(uow) == 2
        # Nothing was recorded under the refused id: it is still free.
        ids = uow.conn.execute(select(transfers.c.idempotency_id)).scalars().all()
        assert "too-much" not in ids
        with pytest.raises(InsufficientFunds):
            ledger.transfer(uow, "too-much", books.alice, books.revenue, 1, code="purchase")
        ledger.transfer(uow, "too-much", books.clearing, books.alice, 5, code="topup")
        assert posted(uow, books.alice) == 5


def test_empty_customer_account_refuses_any_debit(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        with pytest.raises(InsufficientFunds):
            ledger.transfer(uow, "x", books.bob, books.alice, 1, code="gift")
        assert ledger.count_transfers(uow) == 0


def test_pending_debits_count_against_the_available_balance(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        ledger.transfer(uow, "hold", books.alice, books.revenue, 80, code="session",
                        pending=True)
        with pytest.raises(InsufficientFunds):
            ledger.transfer(uow, "buy", books.alice, books.revenue, 21, code="purchase")
        with pytest.raises(InsufficientFunds):
            ledger.transfer(uow, "hold2", books.alice, books.revenue, 21, code="session",
                            pending=True)
        ledger.transfer(uow, "buy", books.alice, books.revenue, 20, code="purchase")
    with db.unit() as uow:
        alice = ledger.balance(uow, books.alice)
        assert (alice.posted, alice.pending_debits, alice.available) == (80, 80, 0)


def test_pending_credits_are_not_spendable(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        ledger.transfer(uow, "incoming", books.clearing, books.alice, 50, code="topup",
                        pending=True)
        alice = ledger.balance(uow, books.alice)
        assert (alice.posted, alice.pending_credits, alice.available) == (0, 50, 0)
        with pytest.raises(InsufficientFunds):
            ledger.transfer(uow, "spend", books.alice, books.revenue, 1, code="purchase")


def test_operator_accounts_may_go_negative(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        ledger.transfer(uow, "a", books.clearing, books.alice, 10**12, code="topup")
        ledger.transfer(uow, "b", books.revenue, books.clearing, 7, code="adjust")
        ledger.transfer(uow, "c", books.revenue, books.bob, 3, code="refund", pending=True)
    with db.unit() as uow:
        assert posted(uow, books.clearing) == -(10**12) + 7
        assert posted(uow, books.revenue) == -7
        assert ledger.balance(uow, books.revenue).available == -10
        assert posted(uow, books.alice) == 10**12


def test_unit_mismatch_is_refused_and_writes_nothing(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        with pytest.raises(UnitMismatch):
            ledger.transfer(uow, "fx", books.alice, books.euro, 10, code="fx")
        with pytest.raises(UnitMismatch):
            ledger.transfer(uow, "fx2", books.clearing, books.euro, 10, code="fx", pending=True)
        with pytest.raises(InvalidTransfer):
            ledger.transfer(uow, "self", books.alice, books.alice, 10, code="noop")
        ledger.transfer(uow, "ok", books.alice, books.bob, 10, code="gift")
    with db.unit() as uow:
        assert ledger.count_transfers(uow) == 2
        assert ledger.balance(uow, books.euro).posted == 0


@pytest.mark.parametrize("amount", [0, -5])
def test_non_positive_amounts_are_refused(db: Database, amount: int) -> None:
    books = open_books(db)
    with db.unit() as uow:
        with pytest.raises(InvalidTransfer):
            ledger.transfer(uow, "zero", books.clearing, books.alice, amount, code="topup")
        assert ledger.count_transfers(uow) == 0


def test_unknown_account_is_refused(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        with pytest.raises(AccountNotFound):
            ledger.transfer(uow, "ghost", books.clearing, 999_999, 5, code="topup")
        assert ledger.count_transfers(uow) == 0


@pytest.mark.parametrize("pending", [False, True])
def test_idempotent_retry_returns_the_first_transfer_and_moves_nothing(
    db: Database, clock: FrozenClock, pending: bool
) -> None:
    books = open_books(db, fund_alice=500)
    with db.unit() as uow:
        first = ledger.transfer(uow, "buy-1", books.alice, books.revenue, 200, code="purchase",
                                ref="order:9", pending=pending)
    clock.advance(minutes=1)
    for _ in range(3):
        with db.unit() as uow:
            again = ledger.transfer(uow, "buy-1", books.alice, books.revenue, 200,
                                    code="purchase", ref="order:9", pending=pending)
            assert again == first
            assert again.created_at == first.created_at != uow.now
    with db.unit() as uow:
        again = ledger.transfer(uow, "buy-1", books.alice, books.revenue, 200, code="purchase",
                                ref="order:9", pending=pending)
        assert again == first
        alice = ledger.balance(uow, books.alice)
        assert alice.available == 300
        assert (alice.posted, alice.pending_debits) == ((500, 200) if pending else (300, 0))
        assert ledger.count_transfers(uow) == 2


def test_retry_of_a_transfer_returns_it_even_when_the_balance_is_now_short(
    db: Database,
) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        first = ledger.transfer(uow, "all", books.alice, books.revenue, 100, code="purchase")
    with db.unit() as uow:
        assert ledger.transfer(uow, "all", books.alice, books.revenue, 100,
                               code="purchase") == first
        assert posted(uow, books.alice) == 0


@pytest.mark.parametrize(
    ("debit", "credit", "amount", "pending"),
    [
        ("alice", "revenue", 201, False),  # different amount
        ("alice", "bob", 200, False),  # different credit account
        ("bob", "revenue", 200, False),  # different debit account
        ("alice", "revenue", 200, True),  # pending instead of posted
    ],
)
def test_same_id_for_a_different_transfer_is_a_conflict(
    db: Database, debit: str, credit: str, amount: int, pending: bool
) -> None:
    books = open_books(db, fund_alice=500)
    with db.unit() as uow:
        ledger.transfer(uow, "bob-funds", books.clearing, books.bob, 500, code="topup")
        ledger.transfer(uow, "buy-1", books.alice, books.revenue, 200, code="purchase")
    with db.unit() as uow:
        with pytest.raises(TransferIdempotencyConflict):
            ledger.transfer(uow, "buy-1", getattr(books, debit), getattr(books, credit), amount,
                            code="purchase", pending=pending)
        assert ledger.count_transfers(uow) == 3
        assert posted(uow, books.alice) == 300
        assert posted(uow, books.bob) == 500


def test_a_resolution_id_reused_for_another_kind_is_a_conflict(db: Database) -> None:
    books = open_books(db, fund_alice=500)
    with db.unit() as uow:
        p = ledger.transfer(uow, "hold", books.alice, books.revenue, 100, code="s", pending=True)
        with pytest.raises(TransferIdempotencyConflict):
            ledger.post_pending(uow, "fund-alice", p.id)
        with pytest.raises(TransferIdempotencyConflict):
            ledger.void_pending(uow, "hold", p.id)
        ledger.post_pending(uow, "hold:post", p.id, 40)
        with pytest.raises(TransferIdempotencyConflict):
            ledger.post_pending(uow, "hold:post", p.id, 41)
        with pytest.raises(TransferIdempotencyConflict):
            ledger.void_pending(uow, "hold:post", p.id)
        with pytest.raises(TransferIdempotencyConflict):
            ledger.transfer(uow, "hold:post", books.alice, books.revenue, 40, code="s")


def test_pending_reserves_then_full_post(db: Database, clock: FrozenClock) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        p = ledger.transfer(uow, "session", books.alice, books.revenue, 60, code="charging",
                            ref="session:1", pending=True)
        assert p.kind == "pending"
        assert p.timeout_at == uow.now + timedelta(
            seconds=uow.settings.pending_transfer_timeout_seconds)
    with db.unit() as uow:
        alice, rev = ledger.balance(uow, books.alice), ledger.balance(uow, books.revenue)
        assert (alice.posted, alice.pending_debits, alice.available) == (100, 60, 40)
        assert (rev.posted, rev.pending_credits, rev.available) == (0, 60, 0)
    clock.advance(minutes=5)
    with db.unit() as uow:
        done = ledger.post_pending(uow, "session:post", p.id)
        assert (done.kind, done.amount, done.pending_id, done.timeout_at) == (
            "post_pending", 60, p.id, None)
        assert (done.debit_account_id, done.credit_account_id, done.code, done.ref) == (
            books.alice, books.revenue, "charging", "session:1")
    with db.unit() as uow:
        alice, rev = ledger.balance(uow, books.alice), ledger.balance(uow, books.revenue)
        assert (alice.posted, alice.pending_debits, alice.available) == (40, 0, 40)
        assert (rev.posted, rev.pending_credits) == (60, 0)
        assert ledger.post_pending(uow, "session:post", p.id) == done  # retry
        assert ledger.count_transfers(uow) == 3


def test_partial_post_releases_the_rest(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        p = ledger.transfer(uow, "session", books.alice, books.revenue, 60, code="charging",
                            pending=True)
        done = ledger.post_pending(uow, "session:post", p.id, 25)
        assert (done.amount, done.kind) == (25, "post_pending")
    with db.unit() as uow:
        alice, rev = ledger.balance(uow, books.alice), ledger.balance(uow, books.revenue)
        assert (alice.posted, alice.pending_debits, alice.available) == (75, 0, 75)
        assert (rev.posted, rev.pending_credits) == (25, 0)
        assert ledger.post_pending(uow, "session:post", p.id, 25) == done
        assert ledger.balance(uow, books.alice).posted == 75


def test_void_releases_the_reservation(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        p = ledger.transfer(uow, "session", books.alice, books.revenue, 60, code="charging",
                            pending=True)
    with db.unit() as uow:
        v = ledger.void_pending(uow, "session:void", p.id)
        assert (v.kind, v.amount, v.pending_id) == ("void_pending", 60, p.id)
    with db.unit() as uow:
        alice, rev = ledger.balance(uow, books.alice), ledger.balance(uow, books.revenue)
        assert (alice.posted, alice.pending_debits, alice.available) == (100, 0, 100)
        assert (rev.posted, rev.pending_credits) == (0, 0)
        assert ledger.void_pending(uow, "session:void", p.id) == v


@pytest.mark.parametrize(
    ("first", "second"),
    [("post", "post"), ("post", "void"), ("void", "post"), ("void", "void"),
     ("partial", "post"), ("partial", "void")],
)
def test_a_pending_transfer_is_resolved_at_most_once(
    db: Database, first: str, second: str
) -> None:
    books = open_books(db, fund_alice=100)

    def resolve(uow: UnitOfWork, how: str, idem: str, pid: int) -> ledger.Transfer:
        if how == "void":
            return ledger.void_pending(uow, idem, pid)
        return ledger.post_pending(uow, idem, pid, 10 if how == "partial" else None)

    with db.unit() as uow:
        p = ledger.transfer(uow, "hold", books.alice, books.revenue, 60, code="s", pending=True)
        resolve(uow, first, "first", p.id)
    with db.unit() as uow:
        before = ledger.balance(uow, books.alice)
        with pytest.raises(PendingAlreadyResolved):
            resolve(uow, second, "second", p.id)
        assert ledger.balance(uow, books.alice) == before
        assert ledger.count_transfers(uow) == 3


def test_post_after_timeout_is_refused(db: Database, clock: FrozenClock) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        p = ledger.transfer(uow, "hold", books.alice, books.revenue, 60, code="s", pending=True,
                            timeout=timedelta(minutes=5))
    clock.advance(minutes=4, seconds=59)
    with db.unit() as uow:
        q = ledger.transfer(uow, "hold2", books.alice, books.revenue, 10, code="s",
                            pending=True, timeout=timedelta(minutes=5))
        ledger.post_pending(uow, "hold2:post", q.id)
    clock.advance(seconds=1)  # exactly at the timeout
    with db.unit() as uow:
        with pytest.raises(PendingExpired):
            ledger.post_pending(uow, "hold:post", p.id)
        with pytest.raises(PendingExpired):
            ledger.post_pending(uow, "hold:post", p.id, 1)
        assert ledger.balance(uow, books.alice).pending_debits == 60
        # An expired pending transfer can still be voided explicitly.
        ledger.void_pending(uow, "hold:void", p.id)
        assert ledger.balance(uow, books.alice).available == 90


def test_void_expired_voids_timed_out_pendings_once(db: Database, clock: FrozenClock) -> None:
    books = open_books(db, fund_alice=1000)
    with db.unit() as uow:
        short1 = ledger.transfer(uow, "s1", books.alice, books.revenue, 100, code="s",
                                 pending=True, timeout=timedelta(minutes=5))
        short2 = ledger.transfer(uow, "s2", books.clearing, books.bob, 50, code="s",
                                 pending=True, timeout=timedelta(minutes=10))
        long_ = ledger.transfer(uow, "l", books.alice, books.revenue, 200, code="s",
                                pending=True)  # default: 15 minutes
        resolved = ledger.transfer(uow, "r", books.alice, books.revenue, 10, code="s",
                                   pending=True, timeout=timedelta(minutes=1))
        ledger.void_pending(uow, "r:void", resolved.id)
        assert ledger.void_expired(uow) == 0
    clock.advance(minutes=10)
    with db.unit() as uow:
        assert ledger.void_expired(uow) == 2
    with db.unit() as uow:
        assert ledger.void_expired(uow) == 0
        voids = {t.pending_id: t for t in ledger.account_transfers(
            uow, [books.alice, books.bob], limit=50) if t.kind == "void_pending"}
        assert set(voids) == {short1.id, short2.id, resolved.id}
        assert voids[short1.id].idempotency_id == f"expire:{short1.id}"
        assert voids[short1.id].code == "expired"
        alice = ledger.balance(uow, books.alice)
        assert (alice.posted, alice.pending_debits, alice.available) == (1000, 200, 800)
        assert ledger.balance(uow, books.bob).pending_credits == 0
        with pytest.raises(PendingAlreadyResolved):
            ledger.post_pending(uow, "late", short1.id)
        ledger.post_pending(uow, "l:post", long_.id, 150)
    clock.advance(minutes=10)
    with db.unit() as uow:
        assert ledger.void_expired(uow) == 0
        assert ledger.balance(uow, books.alice).posted == 850


def test_void_expired_honours_its_limit(db: Database, clock: FrozenClock) -> None:
    books = open_books(db)
    with db.unit() as uow:
        for i in range(5):
            ledger.transfer(uow, f"p{i}", books.clearing, books.alice, 10, code="s",
                            pending=True, timeout=timedelta(seconds=1))
    clock.advance(seconds=1)
    with db.unit() as uow:
        assert ledger.void_expired(uow, limit=2) == 2
    with db.unit() as uow:
        assert ledger.void_expired(uow, limit=2) == 2
        assert ledger.void_expired(uow, limit=2) == 1
        assert ledger.void_expired(uow, limit=2) == 0
        assert ledger.balance(uow, books.alice).pending_credits == 0


@pytest.mark.parametrize("amount", [61, 0, -1])
def test_partial_post_outside_the_reservation_is_refused(db: Database, amount: int) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        p = ledger.transfer(uow, "hold", books.alice, books.revenue, 60, code="s", pending=True)
        with pytest.raises(PostExceedsPending):
            ledger.post_pending(uow, "hold:post", p.id, amount)
        assert ledger.count_transfers(uow) == 2
        # Nothing was written: the same id can post a valid amount in the same unit.
        assert ledger.post_pending(uow, "hold:post", p.id, 60).amount == 60
        assert ledger.balance(uow, books.alice).posted == 40


def test_post_or_void_of_a_non_pending_transfer_is_refused(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        funded = uow.conn.execute(select(transfers.c.id)).scalar_one()
        with pytest.raises(PendingNotFound):
            ledger.post_pending(uow, "x", funded)
        with pytest.raises(PendingNotFound):
            ledger.void_pending(uow, "y", 987_654)
        p = ledger.transfer(uow, "hold", books.alice, books.revenue, 60, code="s", pending=True)
        v = ledger.void_pending(uow, "hold:void", p.id)
        with pytest.raises(PendingNotFound):
            ledger.void_pending(uow, "z", v.id)
        assert ledger.count_transfers(uow) == 3


# --- guards in the schema itself -----------------------------------------------------------


class Rollback(Exception):
    """Raised to leave a unit of work without committing it."""


def test_transfers_cannot_be_updated(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with pytest.raises(IntegrityError, match="immutable"), db.unit() as uow:
        uow.conn.execute(update(transfers).values(amount=1))
    with pytest.raises(IntegrityError, match="immutable"), db.unit() as uow:
        uow.conn.execute(update(transfers).values(code="changed"))
    with db.unit() as uow:
        assert posted(uow, books.alice) == 100
        assert uow.conn.execute(select(transfers.c.amount, transfers.c.code)).one() == (
            100, "topup")


def test_transfers_cannot_be_deleted(db: Database) -> None:
    open_books(db, fund_alice=100)
    with pytest.raises(IntegrityError, match="immutable"), db.unit() as uow:
        uow.conn.execute(transfers.delete())
    with db.unit() as uow:
        assert ledger.count_transfers(uow) == 1


def _insert(uow: UnitOfWork, books: Books, **over: object) -> None:
    values: dict[str, object] = {
        "idempotency_id": "raw", "debit_account_id": books.clearing,
        "credit_account_id": books.alice, "unit": CNY, "amount": 5, "kind": "posted",
        "code": "raw", "created_at": uow.now,
    }
    uow.conn.execute(transfers.insert().values(**(values | over)))


@pytest.mark.parametrize(
    "over",
    [
        pytest.param({"amount": 0}, id="zero-amount"),
        pytest.param({"amount": -3}, id="negative-amount"),
        pytest.param({"credit_account_id": "clearing"}, id="same-account"),
        pytest.param({"credit_account_id": "euro"}, id="unit-mismatch"),
        pytest.param({"unit": EUR}, id="wrong-unit"),
        pytest.param({"kind": "sideways"}, id="unknown-kind"),
        pytest.param({"kind": "post_pending"}, id="post-without-pending"),
        pytest.param({"idempotency_id": "fund-alice"}, id="duplicate-id"),
    ],
)
def test_schema_refuses_bad_transfer_rows(db: Database, over: dict[str, object]) -> None:
    books = open_books(db, fund_alice=100)
    over = {k: getattr(books, v) if k.endswith("account_id") else v for k, v in over.items()}
    with pytest.raises(Rollback), db.unit() as uow:
        _insert(uow, books, idempotency_id="fine")  # the well-formed row is accepted
        assert ledger.count_transfers(uow) == 2
        raise Rollback
    with pytest.raises(IntegrityError), db.unit() as uow:
        _insert(uow, books, **({"idempotency_id": "raw-2"} | over))
    with db.unit() as uow:
        assert ledger.count_transfers(uow) == 1


def test_schema_refuses_a_second_resolution_of_one_pending(db: Database) -> None:
    books = open_books(db, fund_alice=100)
    with db.unit() as uow:
        p = ledger.transfer(uow, "hold", books.alice, books.revenue, 60, code="s", pending=True)
        ledger.void_pending(uow, "hold:void", p.id)
    with pytest.raises(IntegrityError), db.unit() as uow:
        _insert(uow, books, idempotency_id="again", debit_account_id=books.alice,
                credit_account_id=books.revenue, amount=60, kind="void_pending",
                pending_id=p.id)


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"debits_posted": 101}, id="posted-overdraft"),
        pytest.param({"debits_pending": 101}, id="pending-overdraft"),
        pytest.param({"debits_posted": 60, "debits_pending": 41}, id="both"),
        pytest.param({"credits_posted": -1}, id="negative-column"),
    ],
)
def test_schema_refuses_an_overdrawn_customer_account(
    db: Database, values: dict[str, int]
) -> None:
    books = open_books(db, fund_alice=100)
    with pytest.raises(IntegrityError), db.unit() as uow:
        uow.conn.execute(update(accounts).where(accounts.c.id == books.alice).values(**values))
    with db.unit() as uow:
        assert posted(uow, books.alice) == 100


def test_schema_lets_operator_columns_net_negative(db: Database) -> None:
    books = open_books(db)
    with db.unit() as uow:
        uow.conn.execute(update(accounts).where(accounts.c.id == books.clearing)
                         .values(debits_posted=10))
        assert posted(uow, books.clearing) == -10
        uow.conn.execute(update(accounts).where(accounts.c.id == books.clearing)
                         .values(debits_posted=0))
