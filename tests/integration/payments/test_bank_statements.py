"""Reading bank statements and creditor references, without a database: what each format's
entries say, and which statements are refused before anything is imported."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import ModuleType

import pytest
from stdnum import iso11649

from topup.payments.providers import bank as bank_package

SAMPLES = Path(__file__).parent / "bank_samples"
REF1 = "RF380000000001378049"
NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.{}"


@pytest.fixture(scope="module")
def bank() -> ModuleType:
    return bank_package


def camt(bank: ModuleType, data: bytes) -> list:
    return list(bank.camt053.parse(data))


def minimal(version: str = "02", amount: str = "20.00", ccy: str = "EUR",
            ref: str = "<AcctSvcrRef>A1</AcctSvcrRef>") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS.format(version)}">'
            f"<BkToCstmrStmt><Stmt><Id>S1</Id><Ntry>{ref}<Amt Ccy=\"{ccy}\">{amount}</Amt>"
            "<CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><DtTm>2026-11-23T10:00:00"
            "</DtTm></BookgDt><AddtlNtryInf>Top-up RF38 0000 0000 0137 8049</AddtlNtryInf>"
            "</Ntry></Stmt></BkToCstmrStmt></Document>").encode()


def test_references_are_valid_stable_and_keyed(bank: ModuleType) -> None:
    ref = bank.reference
    key = ref.reference_key("test-secret-key")
    assert ref.creditor_reference(1, key) == REF1 == ref.creditor_reference(1, key)
    assert iso11649.is_valid(ref.creditor_reference(123_456_789, key))
    assert ref.creditor_reference(1, ref.reference_key("another-secret")) != REF1
    assert ref.creditor_reference(1, key)[4:14] == "0000000001"
    assert ref.display(REF1) == "RF38 0000 0000 0137 8049"


def test_references_are_found_in_what_payers_type(bank: ModuleType) -> None:
    find, normalise = bank.reference.find_in_text, bank.reference.normalise
    for text in ("RF38 0000 0000 0137 8049", "top-up rf38 0000 0000 0137 8049, thanks",
                 "REF:RF380000000001378049/Lena", "rf38-0000-0000-0137-8049"):
        assert find(text) == [REF1], text
    assert normalise(" rf38 0000 0000 0137 8049 ") == REF1
    typo = "RF39 0000 0000 0137 8049"  # check digits mistyped
    assert find(typo) == [] and normalise(typo) is None
    assert find("RF38 0000 0000 0137 8094") == []  # two digits swapped
    assert find(None) == [] and find("Rechnung 2026-118") == []


def test_camt053_v02_entries(bank: ModuleType) -> None:
    [stmt] = camt(bank, (SAMPLES / "camt053_001_02_exact.xml").read_bytes())
    assert (stmt.format, stmt.statement_id, stmt.account_iban) == (
        "camt053", "0352C5320261123180511", "DE89370400440532013000")
    paid, fee, pending = stmt.entries
    assert paid.entry_ref == "2026112300417553000001"
    assert (paid.amount, paid.currency, paid.booking_date) == (20_00, "EUR", date(2026, 11, 23))
    assert paid.references == (REF1,) and paid.payer_name == "Lena Fischer"
    assert paid.is_payment and not fee.credit and not pending.booked
    assert [e.is_payment for e in stmt.entries] == [True, False, False]


def test_camt053_v08_entries(bank: ModuleType) -> None:
    [stmt] = camt(bank, (SAMPLES / "camt053_001_08_review.xml").read_bytes())
    assert len(stmt.entries) == 7 and all(e.is_payment for e in stmt.entries)
    first = stmt.entries[0]
    assert first.references == (REF1,) and first.payer_name == "Lena Fischer"
    assert first.remittance == "eSIM top-up rf38 0000 0000 0137 8049"
    assert stmt.entries[2].currency == "USD" and stmt.entries[5].references == ()


def test_a_batch_entry_becomes_one_entry_per_transfer(bank: ModuleType) -> None:
    [stmt] = camt(bank, (SAMPLES / "camt053_001_02_typo_and_batch.xml").read_bytes())
    typo, *batch = stmt.entries
    assert typo.references == () and typo.entry_ref == "2026112500417553000021"
    assert [(e.entry_ref, e.amount, e.payer_name) for e in batch] == [
        ("2026112500417553000022", 12_00, "Emily Carter"),
        ("2026112500417553000023", 18_00, "Sophie Martin")]
    broken = (SAMPLES / "camt053_001_02_typo_and_batch.xml").read_bytes().replace(
        b'<Amt Ccy="EUR">18.00</Amt>', b'<Amt Ccy="EUR">17.00</Amt>')
    with pytest.raises(bank.StatementRejected, match="do not add up"):
        camt(bank, broken)


def test_later_camt053_versions_and_date_times_are_read(bank: ModuleType) -> None:
    [stmt] = camt(bank, minimal("13"))
    [entry] = stmt.entries
    assert entry.booking_date == date(2026, 11, 23) and entry.references == (REF1,)
    assert stmt.account_iban is None


@pytest.mark.parametrize(("data", "why"), [
    ((SAMPLES / "camt053_doctype.xml").read_bytes(), "DTD"),
    (b'<?xml version="1.0"?>\n<!doctype Document SYSTEM "http://example.com/x.dtd">'
     b"<Document/>", "DTD"),
    ('<?xml version="1.0" encoding="UTF-16"?><Document/>'.encode("utf-16"), "UTF-8"),
    (b"<Document><unclosed></Document>", "well-formed"),
    (minimal().replace(b"camt.053.001.02", b"camt.052.001.02"), "not a camt.053"),
    (minimal(amount="20.001"), "decimal places"),
    (minimal(amount="0.00"), "positive"),
    (minimal(ccy="XQQ"), "currency"),
    (minimal(ref=""), "AcctSvcrRef nor NtryRef"),
    (b"   ", "empty"),
])
def test_unreadable_or_unsafe_camt053_is_refused(bank: ModuleType, data: bytes, why: str
                                                 ) -> None:
    with pytest.raises(bank.StatementRejected, match=why):
        camt(bank, data)


def test_csv_entries(bank: ModuleType) -> None:
    [stmt] = bank.csv_statement.parse((SAMPLES / "statement.csv").read_bytes())
    paid, by_amount, fee = stmt.entries
    assert (paid.entry_ref, paid.amount, paid.references) == (
        "2026112600417553000031", 20_00, (REF1,))
    assert by_amount.references == () and by_amount.payer_name == "Marco Rossi"
    assert not fee.credit and fee.amount == 4_90 and not fee.is_payment


@pytest.mark.parametrize(("text", "why"), [
    ("entry_ref,amount,currency\nA,1.00,EUR\n", "lacks the columns booking_date"),
    ("entry_ref,booking_date,amount,currency,reference,payer_name\n"
     "A,23.11.2026,1.00,EUR,,\n", "line 2: booking_date"),
    ("entry_ref,booking_date,amount,currency,reference,payer_name\n"
     ",2026-11-23,1.00,EUR,,\n", "entry_ref is empty"),
    ("entry_ref,booking_date,amount,currency,reference,payer_name\n"
     "A,2026-11-23,1.5,JPY,,\n", "JPY has 0 decimal places"),
])
def test_bad_csv_is_refused(bank: ModuleType, text: str, why: str) -> None:
    with pytest.raises(bank.StatementRejected, match=why):
        bank.csv_statement.parse(text.encode())
    with pytest.raises(bank.StatementRejected, match="UTF-8"):
        bank.csv_statement.parse("entry_ref\n€".encode("cp1252"))
