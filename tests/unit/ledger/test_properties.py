"""Property tests: random sequences of ledger operations against a simple in-memory model.

Each example runs on a fresh copy of the migrated SQLite template (built inside the state
machine, not by a function-scoped fixture, so every Hypothesis example starts from empty books).
After every step the cached balances must equal the model, no customer account may be below
zero, ``check_books`` must find nothing, and a retried operation must never move value twice.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.conftest import START, settings_for
from topup.clock import FrozenClock
from topup.db.engine import make_engine
from topup.db.uow import Database, UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.errors import (
    InsufficientFunds,
    InvalidTransfer,
    LedgerError,
    PendingAlreadyResolved,
    PendingExpired,
    PostExceedsPending,
    TransferIdempotencyConflict,
    UnitMismatch,
)
from topup.ledger.invariants import check_books

# (name, currency, customer?) — customers are no-overdraft wallets, the rest operator accounts.
ACCOUNTS = (
    ("clearing:sandbox", "CNY", False),
    ("revenue", "CNY", False),
    ("alice", "CNY", True),
    ("bob", "CNY", True),
    ("clearing:sandbox", "EUR", False),
    ("alice-eur", "EUR", True),
)
CUSTOMERS = [i for i, a in enumerate(ACCOUNTS) if a[2]]
OPERATORS = [i for i, a in enumerate(ACCOUNTS) if not a[2]]
TIMEOUTS = (None, 1, 5, 30)  # minutes; None is the settings' default (15 minutes)

account_index = st.integers(0, len(ACCOUNTS) - 1)
amounts = st.integers(1, 400)
pick = st.integers(0, 10**6)  # an index into a list, taken modulo its length


@dataclass
class Acct:
    id: int
    unit: str
    customer: bool
    posted: int = 0
    pending_debits: int = 0
    pending_credits: int = 0


@dataclass
class Pending:
    id: int
    debit: int  # index into ACCOUNTS
    credit: int
    amount: int
    timeout_at: datetime
    resolved: bool = False


@dataclass
class Done:
    """A successful operation and how to replay it."""

    op: str  # transfer | post | void
    idem: str
    args: dict[str, Any]
    result: ledger.Transfer
    extra: dict[str, Any] = field(default_factory=dict)


class LedgerMachine(RuleBasedStateMachine):
    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-prop-"))
        path = self.dir / "topup.db"
        shutil.copy(self.template, path)
        url = f"sqlite:///{path}"
        self.clock = FrozenClock(START)
        self.db = Database(make_engine(url), settings_for(self.dir, url), self.clock)
        self.accts: list[Acct] = []
        self.pendings: list[Pending] = []
        self.done: list[Done] = []
        self.transfers = 0
        self.serial = 0

    def teardown(self) -> None:
        self.db.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- helpers ---------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    def run(self, work: Any) -> tuple[ledger.Transfer | None, LedgerError | None]:
        """Run ``work`` in a unit that commits even when the ledger refuses: a refusal must
        therefore have written nothing for the invariants to keep holding."""
        with self.db.unit() as uow:
            try:
                return work(uow), None
            except LedgerError as exc:
                return None, exc

    def apply_transfer(self, d: int, c: int, amount: int, pending: bool,
                       timeout_at: datetime | None, made: ledger.Transfer) -> None:
        self.transfers += 1
        dm, cm = self.accts[d], self.accts[c]
        if pending:
            assert timeout_at is not None
            dm.pending_debits += amount
            cm.pending_credits += amount
            self.pendings.append(Pending(made.id, d, c, amount, timeout_at))
        else:
            dm.posted -= amount
            cm.posted += amount

    def apply_resolution(self, p: Pending, posted: int) -> None:
        self.transfers += 1
        p.resolved = True
        dm, cm = self.accts[p.debit], self.accts[p.credit]
        dm.pending_debits -= p.amount
        cm.pending_credits -= p.amount
        dm.posted -= posted
        cm.posted += posted

    # --- rules -----------------------------------------------------------------------------

    @initialize()
    def open_accounts(self) -> None:
        with self.db.unit() as uow:
            for n, (name, currency, customer) in enumerate(ACCOUNTS):
                unit = ledger.money_unit(currency)
                if customer:
                    aid = ledger.wallet(uow, 100 + n, currency)
                else:
                    aid = ledger.operator_account(uow, name, unit)
                self.accts.append(Acct(aid, unit, customer))
        for c in CUSTOMERS:  # an opening balance, so that spending has something to spend
            op = next(o for o in OPERATORS if self.accts[o].unit == self.accts[c].unit)
            self.do_transfer(op, c, 1000, False, None)

    def do_transfer(self, d: int, c: int, amount: int, pending: bool,
                    timeout: int | None) -> None:
        idem = self.new_id("t")
        args = {"debit": self.accts[d].id, "credit": self.accts[c].id, "amount": amount,
                "code": "prop", "pending": pending,
                "timeout": timedelta(minutes=timeout) if timeout else None}
        made, err = self.run(lambda uow: ledger.transfer(uow, idem, **args))
        dm, cm = self.accts[d], self.accts[c]
        if d == c:
            assert isinstance(err, InvalidTransfer), err
        elif dm.unit != cm.unit:
            assert isinstance(err, UnitMismatch), err
        elif dm.customer and dm.posted - dm.pending_debits < amount:
            assert isinstance(err, InsufficientFunds), err
            assert err.extra["available"] == dm.posted - dm.pending_debits
        else:
            assert err is None, err
            assert made is not None and made.amount == amount
            timeout_at = self.clock() + timedelta(minutes=timeout or 15) if pending else None
            assert made.timeout_at == timeout_at
            self.apply_transfer(d, c, amount, pending, timeout_at, made)
            self.done.append(Done("transfer", idem, args, made, {"d": d, "c": c}))

    @rule(d=account_index, c=account_index, amount=amounts, pending=st.booleans(),
          timeout=st.sampled_from(TIMEOUTS))
    def transfer(self, d: int, c: int, amount: int, pending: bool, timeout: int | None) -> None:
        self.do_transfer(d, c, amount, pending, timeout)

    @rule(op=st.sampled_from(OPERATORS), i=pick, amount=amounts, pending=st.booleans(),
          timeout=st.sampled_from(TIMEOUTS))
    def fund_customer(self, op: int, i: int, amount: int, pending: bool,
                      timeout: int | None) -> None:
        """Operator -> customer of the same unit (so that customers have something to spend)."""
        same = [c for c in CUSTOMERS if self.accts[c].unit == self.accts[op].unit]
        self.do_transfer(op, same[i % len(same)], amount, pending, timeout)

    @rule(c=st.sampled_from(CUSTOMERS), percent=st.integers(1, 110), pending=st.booleans())
    def spend(self, c: int, percent: int, pending: bool) -> None:
        """Customer -> operator of the same unit, up to a little more than what is available."""
        acct = self.accts[c]
        op = next(o for o in OPERATORS if self.accts[o].unit == acct.unit)
        available = acct.posted - acct.pending_debits
        amount = max(1, available * percent // 100)
        self.do_transfer(c, op, amount, pending, None)

    def choose_pending(self, i: int, stale: bool) -> Pending:
        """Mostly an open pending transfer; sometimes any, resolved or not."""
        open_ = [p for p in self.pendings if not p.resolved]
        pool = self.pendings if stale or not open_ else open_
        return pool[i % len(pool)]

    @precondition(lambda self: self.pendings)
    @rule(i=pick, stale=st.booleans(), percent=st.one_of(
        st.none(), st.integers(1, 99), st.sampled_from([0, 100, 101, 150])))
    def post(self, i: int, stale: bool, percent: int | None) -> None:
        """Post in full (``percent`` None) or part; 0 or over 100 percent must be refused."""
        p = self.choose_pending(i, stale)
        partial = None if percent is None else p.amount * percent // 100
        idem = self.new_id("post")
        args = {"pending_id": p.id, "amount": partial}
        made, err = self.run(lambda uow: ledger.post_pending(uow, idem, **args))
        if p.resolved:
            assert isinstance(err, PendingAlreadyResolved), err
        elif self.clock() >= p.timeout_at:
            assert isinstance(err, PendingExpired), err
        elif partial is not None and not 0 < partial <= p.amount:
            assert isinstance(err, PostExceedsPending), err
        else:
            assert err is None, err
            assert made is not None
            want = p.amount if partial is None else partial
            assert (made.kind, made.amount, made.pending_id) == ("post_pending", want, p.id)
            self.apply_resolution(p, want)
            self.done.append(Done("post", idem, args, made, {"pending": p}))

    @precondition(lambda self: self.pendings)
    @rule(i=pick, stale=st.booleans())
    def void(self, i: int, stale: bool) -> None:
        p = self.choose_pending(i, stale)
        idem = self.new_id("void")
        made, err = self.run(lambda uow: ledger.void_pending(uow, idem, p.id))
        if p.resolved:
            assert isinstance(err, PendingAlreadyResolved), err
        else:
            assert err is None, err
            assert made is not None and (made.kind, made.amount) == ("void_pending", p.amount)
            self.apply_resolution(p, 0)
            self.done.append(Done("void", idem, {"pending_id": p.id}, made, {"pending": p}))

    @precondition(lambda self: self.done)
    @rule(i=pick)
    def retry(self, i: int) -> None:
        """The same call again, later: the first result comes back and nothing moves."""
        d = self.done[i % len(self.done)]
        if d.op == "transfer":
            again, err = self.run(lambda uow: ledger.transfer(uow, d.idem, **d.args))
        elif d.op == "post":
            again, err = self.run(lambda uow: ledger.post_pending(uow, d.idem, **d.args))
        else:
            again, err = self.run(lambda uow: ledger.void_pending(uow, d.idem, **d.args))
        assert err is None, err
        assert again == d.result

    @precondition(lambda self: self.done)
    @rule(i=pick, delta=st.integers(1, 50))
    def conflicting_retry(self, i: int, delta: int) -> None:
        """The same id for a different amount is refused and moves nothing."""
        d = self.done[i % len(self.done)]
        if d.op == "transfer":
            args = d.args | {"amount": d.args["amount"] + delta}
            _, err = self.run(lambda uow: ledger.transfer(uow, d.idem, **args))
        elif d.op == "post":
            args = d.args | {"amount": d.result.amount + delta}
            _, err = self.run(lambda uow: ledger.post_pending(uow, d.idem, **args))
        else:
            _, err = self.run(lambda uow: ledger.post_pending(uow, d.idem, **d.args))
        assert isinstance(err, TransferIdempotencyConflict), err

    @rule(minutes=st.integers(1, 10))
    def advance_time(self, minutes: int) -> None:
        """Time passes; timed-out pendings stay open (and unpostable) until voided."""
        self.clock.advance(minutes=minutes)

    @rule(limit=st.sampled_from([1000, 1, 2]))
    def void_expired(self, limit: int) -> None:
        """Void every timed-out pending transfer, ``limit`` at a time (oldest first); a call
        with nothing left to do voids nothing."""
        now = self.clock()
        due = sorted((p for p in self.pendings if not p.resolved and p.timeout_at <= now),
                     key=lambda p: p.id)
        while True:
            voided, err = self.run(lambda uow: ledger.void_expired(uow, limit))
            assert err is None, err
            assert voided == min(limit, len(due))
            for p in due[:voided]:
                self.apply_resolution(p, 0)
            del due[:voided]
            if not voided:
                break
            self.books_match_the_model()

    # --- invariants --------------------------------------------------------------------------

    @invariant()
    def books_match_the_model(self) -> None:
        if not self.accts:
            return
        with self.db.unit(readonly=True) as uow:
            self.check(uow)

    def check(self, uow: UnitOfWork) -> None:
        for a in self.accts:
            b = ledger.balance(uow, a.id)
            assert (b.posted, b.pending_debits, b.pending_credits) == (
                a.posted, a.pending_debits, a.pending_credits), a
            if a.customer:
                assert b.available >= 0 and b.posted >= 0, a
        assert ledger.count_transfers(uow) == self.transfers
        for unit in {a.unit for a in self.accts}:
            assert sum(a.posted for a in self.accts if a.unit == unit) == 0
        assert check_books(uow.conn) == []


@pytest.mark.slow
def test_random_operation_sequences_keep_the_books(sqlite_template: Path) -> None:
    machine = type("Machine", (LedgerMachine,), {"template": sqlite_template})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=40, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    ))
