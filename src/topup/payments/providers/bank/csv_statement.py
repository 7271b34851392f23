"""Reading the CSV statement format, for banks that export no camt.053.

UTF-8 (a BOM is fine), comma-separated, one header row with these columns (any order; more
columns are ignored):

- ``entry_ref``: the bank's unique reference for the entry (a re-import is recognised by it)
- ``booking_date``: ``YYYY-MM-DD`` (may be empty)
- ``amount``: decimal text in major units with ``.`` as the decimal point (``100.00``);
  a negative amount is money out and is skipped
- ``currency``: the ISO 4217 code (``CNY``)
- ``reference``: the payer's reference or remittance text (an RF reference is looked for in it)
- ``payer_name``: the payer's name as the bank shows it (may be empty)
"""

from __future__ import annotations

import csv
import io
from datetime import date

from topup.payments.providers.bank.errors import StatementRejected
from topup.payments.providers.bank.reference import find_in_text
from topup.payments.providers.bank.statement import (
    Statement,
    StatementEntry,
    check_size,
    clip,
    parse_amount,
)

COLUMNS = ("entry_ref", "booking_date", "amount", "currency", "reference", "payer_name")


def parse(data: bytes) -> list[Statement]:
    """The one statement a CSV file holds (the account is not named in this format)."""
    check_size(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatementRejected("CSV statements must be UTF-8 encoded") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise StatementRejected(f"the CSV statement lacks the columns {', '.join(missing)} "
                                f"(expected {', '.join(COLUMNS)})")
    try:
        entries = tuple(_entry(row, n) for n, row in enumerate(reader, start=2))
    except csv.Error as exc:
        raise StatementRejected(f"the CSV statement cannot be read: {exc}") from exc
    return [Statement("csv", None, None, entries)]


def _entry(row: dict[str, str | None], line: int) -> StatementEntry:
    where = f"line {line}"
    ref = (row.get("entry_ref") or "").strip()
    if not ref:
        raise StatementRejected(f"{where}: entry_ref is empty")
    amount_text = (row.get("amount") or "").strip()
    credit = not amount_text.startswith("-")
    money = parse_amount(amount_text.lstrip("+-"), (row.get("currency") or "").strip(), where)
    remittance = row.get("reference")
    return StatementEntry(
        ref, _date(row.get("booking_date"), where), money.amount, money.currency,
        credit=credit, booked=True, references=tuple(find_in_text(remittance)),
        remittance=clip(remittance), payer_name=clip(row.get("payer_name"), 140))


def _date(text: str | None, where: str) -> date | None:
    if not (text or "").strip():
        return None
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError as exc:
        raise StatementRejected(f"{where}: booking_date must be YYYY-MM-DD, got {text!r}"
                                ) from exc
