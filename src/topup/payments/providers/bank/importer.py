"""Importing a bank statement: store every payment once, match it to an order, settle it.

For each payment into the account (booked credits; money out, pending and reversed entries are
skipped), in its own unit of work:

1. an entry already stored under the bank's entry reference is left alone (re-imports are
   harmless);
2. the order is found by a valid RF reference it carries (exact, after normalising spaces and
   case; a reference with wrong check digits is not a reference); a valid reference naming no
   order of ours is never guessed further; without any valid reference, the one awaiting bank
   order of exactly that amount and currency is taken — if there is exactly one;
3. an exact payment settles its order through ``payments.settlement`` (the one path every
   payment source takes) in the same unit of work as the entry's record: an order awaiting it
   is paid; an order already given up (expired, failed, cancelled) gets the payment in its
   line's wallet and then the late-payment policy, exactly as a provider's notification would;
   anything else (partial, overpaid, duplicate, currency_mismatch, unmatched) goes to the
   review queue and credits nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from functools import partial

from sqlalchemy import insert, select

from topup.audit.service import record as audit
from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.money import Money
from topup.orders.model import Order
from topup.orders.tables import orders, with_payment_ref
from topup.payments.interfaces import PaymentStatus
from topup.payments.providers.bank import camt053, csv_statement
from topup.payments.providers.bank.errors import StatementRejected
from topup.payments.providers.bank.provider import METHOD_DETAIL, BankProvider
from topup.payments.providers.bank.statement import Statement, StatementEntry
from topup.payments.providers.bank.tables import bank_review_items, bank_statement_entries
from topup.payments.settlement import after_commit, settle_in

log = logging.getLogger("topup.payments.bank")
PARSERS = {"camt053": camt053.parse, "csv": csv_statement.parse}
PAID_STATES = ("paid", "fulfilled", "refunded")


@dataclass(frozen=True)
class ImportResult:
    """What one import found and did."""

    payments: int  # payments into our account in the statement
    credited: int  # settled an order now
    review: int  # sent to the review queue now
    already_imported: int  # stored by an earlier import: nothing done again
    skipped: int  # money out, pending, reversed, or another account's: not stored
    conflicts: tuple[str, ...]  # entry references stored earlier with other amounts
    credited_orders: tuple[int, ...]


@dataclass(frozen=True)
class Match:
    """The order an entry names or fits (None when none), how it was found, and why not."""

    order: Order | None
    matched_by: str | None
    reference: str | None
    why_not: str = ""


def import_statement(db: Database, provider: BankProvider, data: bytes, fmt: str, *,
                     actor_id: int | None = None) -> ImportResult:
    """Import a camt.053 (``fmt="camt053"``) or CSV (``"csv"``) statement; see the module.

    Raises StatementRejected (and imports nothing) when the statement cannot be read safely
    or holds no statement of the provider's account (other accounts' statements are skipped).
    """
    parser = PARSERS.get(fmt)
    if parser is None:
        raise StatementRejected(f"unknown statement format {fmt!r}; use camt053 or csv")
    parsed = parser(data)
    ours = [s for s in parsed if s.account_iban in (None, provider.account.iban)]
    if not ours:
        found = ", ".join(sorted({str(s.account_iban) for s in parsed}))
        raise StatementRejected(
            f"the statement is for account {found}, not {provider.account.iban}")
    result = _import_all(db, provider, ours,
                         skipped=sum(len(s.entries) for s in parsed if s not in ours))
    db.transact(lambda uow: audit(
        uow, actor_id, "bank.statement.import", "bank:statements", format=fmt,
        statements=[s.statement_id for s in ours], credited=result.credited,
        review=result.review, already_imported=result.already_imported,
        conflicts=list(result.conflicts)), what="bank statement audit")
    return result


def _import_all(db: Database, provider: BankProvider, statements: list[Statement],
                skipped: int) -> ImportResult:
    """Each payment in its own unit of work: a failure leaves the others imported."""
    outcomes: Counter[str] = Counter()
    conflicts: list[str] = []
    credited: list[int] = []
    for stmt in statements:
        for entry in stmt.entries:
            if not entry.is_payment:
                skipped += 1
                continue
            outcome, order = db.transact(partial(_import_entry, entry=entry, stmt=stmt),
                                         what="bank statement entry")
            if order is not None:
                after_commit(db, provider, order)
            order_id = order.id if order is not None else None
            outcomes[outcome] += 1
            if outcome == "conflict":
                conflicts.append(entry.entry_ref)
            if order_id is not None:
                credited.append(order_id)
    return ImportResult(sum(outcomes.values()), outcomes["credited"], outcomes["review"],
                        outcomes["already"], skipped, tuple(conflicts), tuple(credited))


def _import_entry(uow: UnitOfWork, entry: StatementEntry, stmt: Statement
                  ) -> tuple[str, Order | None]:
    """Store, match and settle or queue one entry; ("credited", order) or (outcome, None)."""
    t = bank_statement_entries
    known = uow.conn.execute(select(t.c.amount, t.c.currency).where(
        t.c.entry_ref == entry.entry_ref)).first()
    if known is not None:
        if (known.amount, known.currency) != (entry.amount, entry.currency):
            log.warning("bank entry %s was imported before with another amount", entry.entry_ref)
            return "conflict", None
        return "already", None
    match = find_order(uow, entry)
    reason = mismatch_reason(match.order, entry.money)
    order = match.order
    if reason == "order_not_awaiting" and order is not None and _exact(order, entry.money):
        reason = None  # a late payment: settled like any other, then the late policy
    entry_id = uow.conn.execute(insert_ignore(uow, t, {
        "entry_ref": entry.entry_ref, "statement_id": stmt.statement_id, "format": stmt.format,
        "booking_date": entry.booking_date, "amount": entry.amount, "currency": entry.currency,
        "reference": match.reference, "remittance": entry.remittance,
        "payer_name": entry.payer_name, "outcome": "review" if reason else "credited",
        "matched_by": match.matched_by, "order_id": order.id if order else None,
        "order_ref": None if reason or order is None else provider_ref(order),
        "imported_at": uow.now}, ["entry_ref"]).returning(t.c.id)).scalar()
    if entry_id is None:  # a concurrent import stored it first
        return "already", None
    if reason is None and order is not None:
        return "credited", credit(uow, order, entry.money)
    uow.conn.execute(insert(bank_review_items).values(
        entry_id=entry_id, reason=reason, detail=describe(reason, entry.money, match),
        order_id=order.id if order else None, state="open", created_at=uow.now))
    return "review", None


def find_order(uow: UnitOfWork, entry: StatementEntry) -> Match:
    """The order the entry pays (row-locked), by reference, else by a unique amount."""
    for ref in entry.references:
        row = uow.conn.execute(select(orders).where(
            with_payment_ref(uow.dialect, f"bank:{ref}")).with_for_update()).first()
        if row is not None:
            return Match(Order.of(row), "reference", ref)
    if entry.references:
        return Match(None, None, entry.references[0],
                     f"reference {entry.references[0]} names no order")
    rows = uow.conn.execute(select(orders).where(
        orders.c.state == "awaiting_payment", orders.c.payment_ref.like("bank:%"),
        orders.c.amount == entry.amount, orders.c.currency == entry.currency,
    ).order_by(orders.c.id).limit(2).with_for_update()).all()
    if len(rows) == 1:
        return Match(Order.of(rows[0]), "amount", None)
    waiting = "several orders await" if rows else "no order awaits"
    return Match(None, None, None, f"no valid RF reference, and {waiting} {entry.money}")


def mismatch_reason(order: Order | None, money: Money) -> str | None:
    """Why ``money`` cannot settle ``order`` automatically, or None when it pays it exactly."""
    if order is None:
        return "unmatched"
    if order.state in PAID_STATES:
        return "duplicate"
    if order.state != "awaiting_payment":
        return "order_not_awaiting"
    if money.currency != order.currency:
        return "currency_mismatch"
    due = order.total.amount  # the amount plus any fee
    if money.amount != due:
        return "partial" if money.amount < due else "overpaid"
    return None


def _exact(order: Order, money: Money) -> bool:
    return money.currency == order.currency and money.amount == order.total.amount


def describe(reason: str | None, money: Money, match: Match) -> str:
    """One line for finance saying what is wrong with the payment."""
    order = match.order
    if order is None:
        return match.why_not[:300]
    texts = {
        "partial": f"paid {money} of {order.total} for order {order.id}",
        "overpaid": f"paid {money} for order {order.id} of {order.total}",
        "duplicate": f"order {order.id} is already {order.state}; {money} paid again",
        "currency_mismatch": f"paid {money} for order {order.id} of {order.total}",
        "order_not_awaiting": f"order {order.id} is {order.state}; {money} paid for it",
    }
    return texts.get(reason or "", f"paid {money} for order {order.id}")[:300]


def provider_ref(order: Order) -> str:
    """The RF reference part of a bank order's ``bank:RF…`` payment reference."""
    return (order.payment_ref or "").split(":", 1)[1]


def credit(uow: UnitOfWork, order: Order, money: Money) -> Order:
    """Settle ``order`` with an exact bank payment, in the caller's unit of work (the caller
    runs ``settlement.after_commit`` once it has committed)."""
    ref = provider_ref(order)
    status = PaymentStatus(ref, "succeeded", money.amount, money.currency, METHOD_DETAIL)
    return settle_in(uow, f"bank:{ref}", status, "bank")
