"""Reading ISO 20022 camt.053 (bank-to-customer statement) XML, versions 001.02 and later.

Only what matching needs is read: per entry the amount and ``Ccy``, credit or debit, status,
booking date, the bank's entry reference, the payer, and the remittance information
(structured creditor references first, then unstructured text). A batch entry with several
transactions becomes one entry per transaction.

Statements come from outside, so the XML is read with care: it must be UTF-8, and any document
type declaration or entity declaration refuses the whole file (no entity expansion, no external
resources). ``xml.etree`` is used only after those checks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date
from typing import NoReturn
from xml.parsers import expat

from stdnum import iban as iban_number

from topup.money import Money
from topup.payments.providers.bank.errors import StatementRejected
from topup.payments.providers.bank.reference import find_in_text, normalise
from topup.payments.providers.bank.statement import (
    Statement,
    StatementEntry,
    check_size,
    clip,
    parse_amount,
)

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})$")
_FORBIDDEN = (b"<!DOCTYPE", b"<!ENTITY")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
Element = ET.Element


def parse(data: bytes) -> list[Statement]:
    """Every account statement in a camt.053 document; StatementRejected if unsafe or bad."""
    root = _safe_root(data)
    match = NAMESPACE.match(root.tag[1:].partition("}")[0]) if root.tag.startswith("{") else None
    if match is None or root.tag.partition("}")[2] != "Document":
        raise StatementRejected("not a camt.053 document (expected a Document in the "
                                "urn:iso:std:iso:20022:tech:xsd:camt.053.001.xx namespace)")
    ns = {"c": root.tag[1:].partition("}")[0]}
    stmts = root.findall("c:BkToCstmrStmt/c:Stmt", ns)
    if not stmts:
        raise StatementRejected("the camt.053 document holds no statement (Stmt)")
    return [_statement(stmt, ns) for stmt in stmts]


def _safe_root(data: bytes) -> Element:
    """Parse only UTF-8 XML without any DTD: entity tricks cannot get past this."""
    check_size(data)
    if data.startswith(_UTF16_BOMS) or b"\x00" in data:
        raise StatementRejected("camt.053 statements must be UTF-8 encoded")
    if any(marker in data.upper() for marker in _FORBIDDEN):
        raise _declarations_refused()
    _scan_for_declarations(data)
    try:
        # Safe here: expat saw no DTD and no entity declaration in this very document above.
        return ET.fromstring(data)  # noqa: S314
    except ET.ParseError as exc:
        raise StatementRejected(f"the statement is not well-formed XML: {exc}") from exc


def _declarations_refused() -> StatementRejected:
    return StatementRejected("the statement declares a DTD or entities; refused for safety")


def _scan_for_declarations(data: bytes) -> None:
    """A first pass with handlers that refuse any DTD or entity (as defusedxml does)."""

    def refuse(*_: object) -> NoReturn:
        raise _declarations_refused()

    scan = expat.ParserCreate()
    scan.StartDoctypeDeclHandler = refuse
    scan.EntityDeclHandler = refuse
    scan.UnparsedEntityDeclHandler = refuse
    scan.ExternalEntityRefHandler = refuse
    try:
        scan.Parse(data, True)
    except expat.ExpatError as exc:
        raise StatementRejected(f"the statement is not well-formed XML: {exc}") from exc


def _text(node: Element, path: str, ns: dict[str, str]) -> str | None:
    found = (node.findtext(path, namespaces=ns) or "").strip()
    return found or None


def _statement(stmt: Element, ns: dict[str, str]) -> Statement:
    account = _text(stmt, "c:Acct/c:Id/c:IBAN", ns)
    entries: list[StatementEntry] = []
    for ntry in stmt.findall("c:Ntry", ns):
        entries.extend(_entries(ntry, ns))
    return Statement("camt053", _text(stmt, "c:Id", ns),
                     iban_number.compact(account) if account else None, tuple(entries))


@dataclass(frozen=True)
class _Head:
    """What an entry says about all of its transactions."""

    booking_date: date | None
    credit: bool
    booked: bool
    reversal: bool


@dataclass(frozen=True)
class _Details:
    """What one transaction says about its payer."""

    references: tuple[str, ...]
    remittance: str | None
    payer_name: str | None


def _entry(ref: str, money: Money, head: _Head, details: _Details) -> StatementEntry:
    return StatementEntry(ref, head.booking_date, money.amount, money.currency, head.credit,
                          head.booked, details.references, details.remittance,
                          details.payer_name, head.reversal)


def _entries(ntry: Element, ns: dict[str, str]) -> list[StatementEntry]:
    """One entry, or one per transaction of a batch entry."""
    ref = (_text(ntry, "c:AcctSvcrRef", ns) or _text(ntry, "c:NtryRef", ns)
           or _text(ntry, "c:NtryDtls/c:TxDtls/c:Refs/c:AcctSvcrRef", ns))
    if ref is None:
        raise StatementRejected("an entry has neither AcctSvcrRef nor NtryRef; without the "
                                "bank's reference a re-import could not be recognised")
    money = _amount(ntry.find("c:Amt", ns), f"entry {ref}")
    head = _Head(
        booking_date=_booking_date(ntry, ns, ref),
        credit=_text(ntry, "c:CdtDbtInd", ns) == "CRDT",
        booked=(_text(ntry, "c:Sts", ns) or _text(ntry, "c:Sts/c:Cd", ns)) == "BOOK",
        reversal=(_text(ntry, "c:RvslInd", ns) or "").lower() == "true",
    )
    txs = ntry.findall("c:NtryDtls/c:TxDtls", ns)
    if len(txs) <= 1:
        return [_entry(ref, money, head, _details(txs[0] if txs else None, ntry, ns))]
    return _batch(ntry, txs, ref, money, head, ns)


def _amount(amt: Element | None, where: str) -> Money:
    if amt is None:
        raise StatementRejected(f"{where}: no amount")
    return parse_amount(amt.text, amt.get("Ccy"), where)


def _batch(ntry: Element, txs: list[Element], ref: str, total: Money, head: _Head,
           ns: dict[str, str]) -> list[StatementEntry]:
    """A batch booking: each transaction with its own amount and reference."""
    out = []
    for n, tx in enumerate(txs, start=1):
        amt = tx.find("c:AmtDtls/c:TxAmt/c:Amt", ns)
        tx_ref = _text(tx, "c:Refs/c:AcctSvcrRef", ns) or f"{ref}/{n}"
        money = _amount(amt if amt is not None else tx.find("c:Amt", ns), f"entry {tx_ref}")
        out.append(_entry(tx_ref, money, head, _details(tx, ntry, ns)))
    if sum(e.amount for e in out) != total.amount or {e.currency for e in out} != {
            total.currency}:
        raise StatementRejected(f"entry {ref}: its transactions do not add up to the entry")
    return out


def _booking_date(ntry: Element, ns: dict[str, str], ref: str) -> date | None:
    text = _text(ntry, "c:BookgDt/c:Dt", ns) or _text(ntry, "c:BookgDt/c:DtTm", ns)
    if text is None:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise StatementRejected(f"entry {ref}: bad booking date {text!r}") from exc


def _details(tx: Element | None, ntry: Element, ns: dict[str, str]) -> _Details:
    """References, remittance text and payer of one transaction."""
    if tx is None:
        info = _text(ntry, "c:AddtlNtryInf", ns)
        return _Details(tuple(find_in_text(info)), clip(info), None)
    structured = [r.text or "" for r in tx.findall("c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)]
    lines = [u.text or "" for u in tx.findall("c:RmtInf/c:Ustrd", ns)]
    refs = [n for n in (normalise(s) for s in structured) if n]
    refs += [r for r in find_in_text(" ".join(lines)) if r not in refs]
    payer = (_text(tx, "c:RltdPties/c:Dbtr/c:Nm", ns)
             or _text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm", ns))
    return _Details(tuple(refs), clip(" ".join(structured + lines)), clip(payer, 140))
