"""What a bank statement says, whatever its format: one ``Statement`` per account statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from topup.errors import InvalidInput
from topup.money import Money
from topup.payments.providers.bank.errors import StatementRejected

MAX_BYTES = 20 * 1024 * 1024  # a month of a busy account is a few MB; refuse anything huge
MAX_TEXT = 500


@dataclass(frozen=True)
class StatementEntry:
    """One booked movement on the account as the bank reported it."""

    entry_ref: str  # the bank's own unique reference for the entry
    booking_date: date | None
    amount: int  # minor units of ``currency``, always positive
    currency: str
    credit: bool  # money in (CRDT), not out
    booked: bool  # final (BOOK), not pending or informational
    references: tuple[str, ...] = ()  # valid RF references it carries, most likely first
    remittance: str | None = None  # the payer's text, as sent
    payer_name: str | None = None
    reversal: bool = False  # the bank reversing an earlier booking, not a payer's transfer

    @property
    def is_payment(self) -> bool:
        """True for a payer's booked transfer into the account: the only entries we import."""
        return self.credit and self.booked and not self.reversal

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


@dataclass(frozen=True)
class Statement:
    """One account's statement: the account (None when the format does not say) and entries."""

    format: str  # "camt053" | "csv"
    statement_id: str | None
    account_iban: str | None
    entries: tuple[StatementEntry, ...]


def check_size(data: bytes) -> None:
    """Refuse empty and oversized statements before parsing anything."""
    if not data.strip():
        raise StatementRejected("the statement is empty")
    if len(data) > MAX_BYTES:
        raise StatementRejected(f"the statement is larger than {MAX_BYTES // 2**20} MiB")


def parse_amount(text: str | None, currency: str | None, where: str) -> Money:
    """A positive amount from decimal text, exactly, or StatementRejected naming ``where``."""
    try:
        money = Money.parse(text or "", currency or "")
    except InvalidInput as exc:
        raise StatementRejected(f"{where}: {exc.detail}") from exc
    if money.amount <= 0:
        raise StatementRejected(f"{where}: the amount must be positive, got {text!r}")
    return money


def clip(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """Whitespace-collapsed text cut to ``limit`` characters (None when empty)."""
    cleaned = " ".join((text or "").split())
    return cleaned[:limit] or None
