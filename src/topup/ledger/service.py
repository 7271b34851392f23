"""Ledger services: accounts, posted and two-phase transfers, balances.

Every write takes the accounts' row locks in ascending id order (PostgreSQL) or runs under
SQLite's single writer, validates, and only then writes: a refused transfer writes nothing, so a
caller may catch the refusal and carry on in the same unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Select,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row

from topup.db.bulk import Query, add_to_rows, among, send
from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.ledger import accounts as chart
from topup.ledger.accounts import WALLET
from topup.ledger.errors import (
    AccountNotFound,
    AmountOutOfRange,
    InsufficientFunds,
    InvalidTransfer,
    PendingAlreadyResolved,
    PendingExpired,
    PendingNotFound,
    PostExceedsPending,
    TransferIdempotencyConflict,
    UnitMismatch,
)
from topup.ledger.tables import MAX_TOTAL, MAX_TRANSFER, accounts, transfer_keys, transfers

DATA, VOICE, SMS, POINTS = "data", "voice", "sms", "points"
NON_MONEY_UNITS = (DATA, VOICE, SMS, POINTS)


def money_unit(currency: str) -> str:
    """The ledger unit for a currency: ``money:CNY``."""
    return f"money:{currency}"


def currency_of(unit: str) -> str | None:
    """The currency of a money unit, else None."""
    return unit.split(":", 1)[1] if unit.startswith("money:") else None


@dataclass(frozen=True)
class Balance:
    """An account's cached balance (credit-normal: credits minus debits)."""

    account_id: int
    unit: str
    posted: int
    pending_debits: int
    pending_credits: int

    @property
    def available(self) -> int:
        return self.posted - self.pending_debits


@dataclass(frozen=True)
class Transfer:
    """One immutable row of ``ledger_transfers``."""

    id: int
    idempotency_id: str
    debit_account_id: int
    credit_account_id: int
    unit: str
    amount: int
    kind: str
    pending_id: int | None
    timeout_at: datetime | None
    code: str
    ref: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> Transfer:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def find_account(uow: UnitOfWork, key: str) -> int | None:
    """The id of the account named ``key``, or None if it was never opened (reads only, so
    reports may call it on a replica)."""
    known = uow.known.get(key) or uow.learned.get(key)
    if known is not None:
        return known
    found = uow.conn.execute(select(accounts.c.id).where(accounts.c.key == key)).scalar()
    return None if found is None else int(found)


def open_account(
    uow: UnitOfWork,
    key: str,
    unit: str,
    kind: str,
    *,
    line_id: int | None = None,
    no_overdraft: bool | None = None,
) -> int:
    """Return the id of the account named ``key``, creating it on first use (race-safe).

    ``kind`` must be in the chart of accounts (``UnknownAccountKind`` otherwise), which also
    says whether the account may go below zero (``no_overdraft``, if given, must agree).
    Accounts are never deleted and their ids never change, so committed ids are remembered.

    A read-only unit of work creates nothing (the database refuses its writes): an account
    not made yet is ``ABSENT`` there, an id no account has, whose balance is zero."""
    refuse_overdraft = chart.no_overdraft(kind, no_overdraft)
    known = uow.known.get(key) or uow.learned.get(key)
    if known is not None:
        return known
    found = uow.conn.execute(select(accounts.c.id).where(accounts.c.key == key)).scalar()
    if found is not None:
        uow.learned[key] = int(found)
        return int(found)
    if uow.readonly:
        return ABSENT
    values = {
        "key": key, "unit": unit, "kind": kind, "line_id": line_id,
        "no_overdraft": refuse_overdraft, "debits_posted": 0, "credits_posted": 0,
        "debits_pending": 0, "credits_pending": 0, "created_at": uow.now,
    }
    uow.conn.execute(insert_ignore(uow, accounts, values, ["key"]))
    made = int(uow.conn.execute(select(accounts.c.id).where(accounts.c.key == key)).scalar_one())
    uow.learned[key] = made
    return made


def operator_account(uow: UnitOfWork, kind: str, unit: str, *, line_id: int | None = None
                     ) -> int:
    """The operator's ``kind`` account for ``unit`` (clearing, revenue…); may go negative.

    With ``line_id`` it is the sub-account of that line's shard: movements of different lines
    then lock different rows, and reports sum the shards (``op:<kind>:<unit>:<shard>``).
    ``kind`` is an operator kind of the chart of accounts (``topup.ledger.accounts``).
    """
    chart.check_operator(kind)
    if line_id is None:
        return open_account(uow, f"op:{kind}:{unit}", unit, kind)
    shard = line_id % uow.settings.ledger_shards
    return open_account(uow, f"op:{kind}:{unit}:{shard}", unit, kind)


def wallet(uow: UnitOfWork, line_id: int, currency: str) -> int:
    """A line's money wallet in ``currency`` (a customer account: never below zero)."""
    unit = money_unit(currency)
    return open_account(uow, f"line:{line_id}:wallet:{unit}", unit, WALLET,
                        line_id=line_id)


def lines_with_money() -> Select[Any]:
    """Ids of lines with money available in any wallet."""
    return select(accounts.c.line_id).where(
        accounts.c.kind == WALLET,
        accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending > 0)


def wallets_below(uow: UnitOfWork, floors: dict[str, int], skip: Select[Any], limit: int
                  ) -> list[tuple[int, int, str, int, int]]:
    """(account, line, unit, available, credits) of wallets that were ever credited and now
    hold less than their unit's floor, except ``skip`` (account id, credits) pairs."""
    available = accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending
    cond = [and_(accounts.c.unit == unit, available < floor) for unit, floor in floors.items()]
    if not cond:
        return []
    rows = uow.conn.execute(
        select(accounts.c.id, accounts.c.line_id, accounts.c.unit,
               available.label("available"), accounts.c.credits_posted)
        .where(accounts.c.kind == WALLET, accounts.c.credits_posted > 0, or_(*cond),
               tuple_(accounts.c.id, accounts.c.credits_posted).not_in(skip))
        .order_by(accounts.c.id).limit(limit))
    return [(int(r.id), int(r.line_id), str(r.unit), int(r.available), int(r.credits_posted))
            for r in rows]


def wallets(uow: UnitOfWork, line_id: int) -> dict[str, Balance]:
    """Every money wallet of a line, by currency."""
    rows = uow.conn.execute(select(accounts).where(
        accounts.c.line_id == line_id, accounts.c.kind == WALLET).order_by(accounts.c.unit))
    return {
        str(currency_of(r.unit)): Balance(r.id, r.unit, r.credits_posted - r.debits_posted,
                                          r.debits_pending, r.credits_pending)
        for r in rows
    }


def line_account_ids(uow: UnitOfWork, line_id: int) -> list[int]:
    """Ids of every account a line owns (wallets and buckets)."""
    return [int(i) for i in uow.conn.execute(
        select(accounts.c.id).where(accounts.c.line_id == line_id)).scalars()]


ABSENT = 0
"""The id ``open_account`` gives, in a read-only unit of work, for an account not made yet."""


def balance(uow: UnitOfWork, account_id: int) -> Balance:
    """The cached balance of one account (zero for ``ABSENT``: its unit unknown, "")."""
    if account_id == ABSENT:
        return Balance(account_id=ABSENT, unit="", posted=0, pending_debits=0,
                       pending_credits=0)
    row = uow.conn.execute(select(accounts).where(accounts.c.id == account_id)).one()
    return Balance(
        account_id=row.id, unit=row.unit, posted=row.credits_posted - row.debits_posted,
        pending_debits=row.debits_pending, pending_credits=row.credits_pending,
    )


def find_transfer(uow: UnitOfWork, idempotency_id: str) -> Transfer | None:
    """The transfer recorded under ``idempotency_id``, if any."""
    return _existing(uow, idempotency_id)


def _existing(uow: UnitOfWork, idempotency_id: str) -> Transfer | None:
    row = uow.conn.execute(_BY_KEY[uow.dialect], {"key": idempotency_id}).first()
    return Transfer.of(row) if row else None


# The statements of one transfer, built once (a statement built per call costs more Python
# than the database spends running it), for each dialect. On PostgreSQL transfers are
# partitioned by id (docs/partitioning.md): an idempotency id is found in the key table, whose
# transfer id then reads one partition.
_BY_KEY = {
    "postgresql": select(transfers).where(transfers.c.id == select(transfer_keys.c.transfer_id)
                                          .where(transfer_keys.c.idempotency_id
                                                 == bindparam("key")).scalar_subquery()),
    "sqlite": select(transfers).where(transfers.c.idempotency_id == bindparam("key")),
}


def _locking(dialect: str) -> Any:
    query = select(accounts).where(among(dialect, accounts.c.id, "ids")).order_by(
        accounts.c.id)
    return query.with_for_update() if dialect == "postgresql" else query


LOCK_ACCOUNTS = Query(_locking)
"""Accounts by id (``ids``), in id order, locked on PostgreSQL (FOR UPDATE): every writer of
totals takes its accounts this way, so two never wait on each other in a circle."""


def _record_claiming_the_key() -> Any:
    """PostgreSQL's ``INSERT … ON CONFLICT (idempotency_id) DO NOTHING RETURNING id``, for
    transfers partitioned by id, where no unique index on ``idempotency_id`` can exist: the
    key is claimed in ``ledger_transfer_ids`` (``ON CONFLICT DO NOTHING``, so a duplicate
    waits on an in-flight twin and then writes nothing) and the transfer is written only
    when the claim was, in one statement. Its trigger finds the key claimed by this row."""
    key, pending = (bindparam(n, type_=transfers.c[n].type) for n in ("idempotency_id",
                                                                        "pending_id"))
    claim = (postgresql.insert(transfer_keys).values(
        idempotency_id=key, pending_id=pending,
        transfer_id=func.nextval(literal_column("'ledger_transfers_id_seq'")))
        .on_conflict_do_nothing(index_elements=["idempotency_id"])
        .returning(transfer_keys.c.transfer_id).cte("claim"))
    names = [c.name for c in transfers.c if c.name != "id"]
    given = {"idempotency_id": key, "pending_id": pending}
    row = select(claim.c.transfer_id, *(given.get(n, bindparam(n, type_=transfers.c[n].type))
                                        for n in names))
    return postgresql.insert(transfers).from_select(["id", *names], row).returning(
        transfers.c.id)


# The transfer that resolved a pending one, if any (on PostgreSQL one look-up in the key
# table rather than one in each partition)
_RESOLVED = {
    "postgresql": select(transfer_keys.c.transfer_id).where(
        transfer_keys.c.pending_id == bindparam("pid")),
    "sqlite": select(transfers.c.id).where(transfers.c.pending_id == bindparam("pid")),
}
# None when the idempotency id is taken (by a concurrent writer: ``transfer`` looks first)
_RECORD = {
    "postgresql": _record_claiming_the_key(),
    "sqlite": sqlite.insert(transfers).on_conflict_do_nothing(index_elements=["idempotency_id"])
    .returning(transfers.c.id),
}
_BUMP = update(accounts).where(accounts.c.id == bindparam("aid")).values(
    {name: accounts.c[name] + bindparam(f"d_{name}")
     for name in ("debits_posted", "credits_posted", "debits_pending", "credits_pending")})


def _same_or_conflict(found: Transfer, **want: object) -> Transfer:
    for name, value in want.items():
        if value is not None and getattr(found, name) != value:
            raise TransferIdempotencyConflict(
                f"idempotency id {found.idempotency_id!r} names a different transfer ({name})"
            )
    return found


def _lock(uow: UnitOfWork, ids: list[int]) -> dict[int, Row]:
    rows = {r.id: r for r in LOCK_ACCOUNTS.run(uow.conn, {"ids": ids})}
    missing = set(ids) - set(rows)
    if missing:
        raise AccountNotFound(f"no such account(s): {sorted(missing)}")
    return rows


def _bump(uow: UnitOfWork, account_id: int, **deltas: int) -> None:
    if any(deltas.values()):
        uow.conn.execute(_BUMP, {"aid": account_id, "d_debits_posted": 0, "d_credits_posted": 0,
                                 "d_debits_pending": 0, "d_credits_pending": 0}
                         | {f"d_{name}": delta for name, delta in deltas.items()})


def add_to_totals(uow: UnitOfWork, debits: dict[int, int], credits: dict[int, int], *,
                  debits_pending: dict[int, int] | None = None,
                  credits_pending: dict[int, int] | None = None) -> None:
    """Add a batch's summed movements to its accounts' totals, in one statement: posted
    ``debits`` and ``credits``, and the change of pending ones (negative where holds were
    resolved).

    The rows must be locked already and the sums checked against the accounts' range (the
    schema's CHECKs stay the backstop). PostgreSQL takes the deltas as arrays (one statement
    and one plan whatever the batch's size); SQLite, in-process, one prepared statement run
    per account."""
    dp, cp = debits_pending or {}, credits_pending or {}
    ids = sorted(debits.keys() | credits.keys() | dp.keys() | cp.keys())
    if not ids:
        return
    if uow.dialect == "postgresql":
        send(uow.conn, _ADD_TO_TOTALS_Q, {
            "ids": ids, "debits": [debits.get(i, 0) for i in ids],
            "credits": [credits.get(i, 0) for i in ids], "dp": [dp.get(i, 0) for i in ids],
            "cp": [cp.get(i, 0) for i in ids]})
    else:
        add_to_rows(uow.conn, accounts, "id", _TOTALS, [
            (i, debits.get(i, 0), credits.get(i, 0), dp.get(i, 0), cp.get(i, 0)) for i in ids])


_TOTALS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
_ADD_TO_TOTALS_PG = text(
    f"UPDATE {accounts.name} AS a SET debits_posted = a.debits_posted + v.d, "  # noqa: S608
    "credits_posted = a.credits_posted + v.c, debits_pending = a.debits_pending + v.dp, "
    "credits_pending = a.credits_pending + v.cp "
    "FROM unnest(CAST(:ids AS BIGINT[]), CAST(:debits AS BIGINT[]), "
    "CAST(:credits AS BIGINT[]), CAST(:dp AS BIGINT[]), CAST(:cp AS BIGINT[])) "
    "AS v(id, d, c, dp, cp) WHERE a.id = v.id")
_ADD_TO_TOTALS_Q = Query(lambda _: _ADD_TO_TOTALS_PG)


def _record(uow: UnitOfWork, values: dict) -> Transfer | None:
    """Insert the transfer; None when a concurrent writer took the idempotency id first."""
    values = {"created_at": uow.now, "pending_id": None, "timeout_at": None, "ref": None} | values
    new_id = uow.conn.execute(_RECORD[uow.dialect], values).scalar()
    if new_id is None:
        return None
    return Transfer(id=int(new_id), **values)


def _check_range(row: Row, **deltas: int) -> None:
    """Refuse, before any write, a change that would take a total of ``row`` past MAX_TOTAL."""
    for name, delta in deltas.items():
        if int(getattr(row, name)) + delta > MAX_TOTAL:
            # no account id in the answer: callers may be customers
            raise AmountOutOfRange(f"the amount would take an account's {name} past its range")


def _check_debit(d: Row, c: Row, amount: int) -> None:
    if d.unit != c.unit:
        raise UnitMismatch(f"{d.unit} vs {c.unit}")
    available = d.credits_posted - d.debits_posted - d.debits_pending
    if d.no_overdraft and available < amount:
        raise InsufficientFunds("balance too low", account_id=d.id, available=available,
                                needed=amount)


def transfer(
    uow: UnitOfWork,
    idempotency_id: str,
    debit: int,
    credit: int,
    amount: int,
    *,
    code: str,
    ref: str | None = None,
    pending: bool = False,
    timeout: timedelta | None = None,
) -> Transfer:
    """Move ``amount`` from ``debit`` to ``credit``; posted now, or reserved when ``pending``.

    A retry with the same idempotency id and the same accounts and amount returns the first
    transfer and moves nothing; with anything else it raises ``TransferIdempotencyConflict``.
    """
    kind = "pending" if pending else "posted"
    want = {"debit_account_id": debit, "credit_account_id": credit, "amount": amount, "kind": kind}
    if amount <= 0 or debit == credit:
        raise InvalidTransfer("a transfer needs a positive amount between two accounts")
    if amount > MAX_TRANSFER:
        raise AmountOutOfRange(f"a transfer moves at most {MAX_TRANSFER}")
    rows = _lock(uow, sorted({debit, credit}))
    # Looked up under the locks, so a retry that queued behind its first attempt gets its result.
    found = _existing(uow, idempotency_id)
    if found:
        return _same_or_conflict(found, **want)
    d = rows[debit]
    _check_debit(d, rows[credit], amount)
    side = "pending" if pending else "posted"
    _check_range(d, **{f"debits_{side}": amount})
    _check_range(rows[credit], **{f"credits_{side}": amount})
    timeout_at = uow.now + (
        timeout or timedelta(seconds=uow.settings.pending_transfer_timeout_seconds)
    ) if pending else None
    made = _record(uow, want | {
        "idempotency_id": idempotency_id, "unit": d.unit, "code": code, "ref": ref,
        "timeout_at": timeout_at,
    })
    if made is None:
        return _same_or_conflict(_existing(uow, idempotency_id), **want)  # type: ignore[arg-type]
    _bump(uow, debit, **{f"debits_{side}": amount})
    _bump(uow, credit, **{f"credits_{side}": amount})
    return made


def _resolve(
    uow: UnitOfWork, idempotency_id: str, pending_id: int, kind: str, amount: int | None,
    code: str | None,
) -> Transfer:
    row = uow.conn.execute(select(transfers).where(transfers.c.id == pending_id)).first()
    if row is None or row.kind != "pending":
        raise PendingNotFound(f"no pending transfer {pending_id}")
    p = Transfer.of(row)
    rows = _lock(uow, sorted({p.debit_account_id, p.credit_account_id}))
    found = _existing(uow, idempotency_id)  # under the locks: a queued retry sees the first
    if found:
        return _same_or_conflict(found, pending_id=pending_id, kind=kind, amount=amount)
    resolved = uow.conn.execute(_RESOLVED[uow.dialect], {"pid": pending_id}).first()
    if resolved:
        raise PendingAlreadyResolved(f"pending transfer {pending_id} is already resolved")
    if kind == "post_pending":
        if p.timeout_at is not None and uow.now >= p.timeout_at:
            raise PendingExpired(f"pending transfer {pending_id} timed out")
        amount = p.amount if amount is None else amount
        if not 0 < amount <= p.amount:
            raise PostExceedsPending(f"post {amount} of pending {p.amount}")
    else:
        amount = p.amount
    posted = amount if kind == "post_pending" else 0
    _check_range(rows[p.debit_account_id], debits_posted=posted)
    _check_range(rows[p.credit_account_id], credits_posted=posted)
    made = _record(uow, {
        "idempotency_id": idempotency_id, "debit_account_id": p.debit_account_id,
        "credit_account_id": p.credit_account_id, "unit": p.unit, "amount": amount,
        "kind": kind, "pending_id": pending_id, "code": code or p.code, "ref": p.ref,
    })
    if made is None:
        return _same_or_conflict(_existing(uow, idempotency_id), pending_id=pending_id)  # type: ignore[arg-type]
    _bump(uow, p.debit_account_id, debits_pending=-p.amount, debits_posted=posted)
    _bump(uow, p.credit_account_id, credits_pending=-p.amount, credits_posted=posted)
    return made


def post_pending(
    uow: UnitOfWork, idempotency_id: str, pending_id: int, amount: int | None = None
) -> Transfer:
    """Commit all (``amount=None``) or part of a pending transfer; the rest is released."""
    return _resolve(uow, idempotency_id, pending_id, "post_pending", amount, None)


def void_pending(uow: UnitOfWork, idempotency_id: str, pending_id: int) -> Transfer:
    """Release a pending transfer in full."""
    return _resolve(uow, idempotency_id, pending_id, "void_pending", None, None)


def void_expired(uow: UnitOfWork, limit: int = 1000) -> int:
    """Void pending transfers whose timeout has passed; returns how many were voided."""
    resolved = select(transfers.c.pending_id).where(transfers.c.pending_id.is_not(None))
    rows = uow.conn.execute(
        select(transfers.c.id)
        .where(and_(transfers.c.kind == "pending", transfers.c.timeout_at <= uow.now,
                    transfers.c.id.not_in(resolved)))
        .order_by(transfers.c.id)
        .limit(limit)
    ).scalars().all()
    for pid in rows:
        _resolve(uow, f"expire:{pid}", int(pid), "void_pending", None, "expired")
    return len(rows)


def account_transfers(
    uow: UnitOfWork, account_ids: list[int], *, limit: int, before: int | None = None
) -> list[Transfer]:
    """Transfers touching any of ``account_ids``, newest first, keyset-paged by id."""
    cond = transfers.c.debit_account_id.in_(account_ids) | transfers.c.credit_account_id.in_(
        account_ids
    )
    if before is not None:
        cond = cond & (transfers.c.id < before)
    rows = uow.conn.execute(
        select(transfers).where(cond).order_by(transfers.c.id.desc()).limit(limit)
    )
    return [Transfer.of(r) for r in rows]


def count_transfers(uow: UnitOfWork) -> int:
    """How many transfers the ledger holds."""
    return int(uow.conn.execute(select(func.count()).select_from(transfers)).scalar_one())
