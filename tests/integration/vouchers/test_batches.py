"""Batches: 100,000 cards generated and exported for the printer, the export audited and never
repeatable, PDF sheets of cards, activation booked once, blocking a batch or a serial range."""

from __future__ import annotations

import csv
import hashlib
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import insert, select
from stdnum import luhn

from tests.integration.vouchers.conftest import ListSink, make_batch, operator_total
from topup.audit.service import entries
from topup.db.uow import Database
from topup.vouchers import generate as generate_module
from topup.vouchers import service as vouchers
from topup.vouchers.errors import InvalidBatch, VoucherStateConflict
from topup.vouchers.export import CsvSink, file_stem
from topup.vouchers.pdf import PdfSink
from topup.vouchers.pins import PinHasher, grouped
from topup.vouchers.tables import vouchers as voucher_table

BIG = 100_000


def new_batch(db: Database, count: int, staff: int, **extra: object) -> vouchers.BatchView:
    with db.unit() as uow:
        spec = vouchers.BatchSpec(count=count, face_amount=100_00, currency="CNY",
                                  expires_at=uow.now + timedelta(days=365), **extra)
        return vouchers.create_batch(uow, spec, staff)


def test_a_100k_batch_is_generated_and_exported_as_csv(db: Database, staff: int,
                                                       tmp_path: Path) -> None:
    batch = new_batch(db, BIG, staff, pin_length=14, distributor="Harbour Kiosks")
    path = tmp_path / f"{file_stem(batch)}.csv"
    ticks: list[int] = []
    done = vouchers.generate(db, batch.id, [CsvSink(path)], actor_id=staff,
                             progress=ticks.append)
    assert done.complete and done.generated == BIG and sum(ticks) == BIG
    assert stat.S_IMODE(path.stat().st_mode) == 0o600, "the only clear copy of the PINs"
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    pins = [r["pin"] for r in rows]
    assert len(rows) == BIG and len(set(pins)) == BIG
    assert all(len(p) == 14 and luhn.is_valid(p) for p in pins)
    serials = [int(r["serial"]) for r in rows]
    assert serials == list(range(int(batch.serial_first), int(batch.serial_last) + 1))
    assert {(r["face_value"], r["currency"]) for r in rows} == {("100.00", "CNY")}
    hasher = PinHasher(db.settings.secret_key)
    with db.unit(readonly=True) as uow:
        stored = {int(s): h for s, h in uow.conn.execute(
            select(voucher_table.c.serial, voucher_table.c.pin_hash))}
        counts = vouchers.batch_counts(uow, batch.id)
        log = entries(uow, f"voucher_batch:{batch.id}")
    assert all(stored[int(r["serial"])] == hasher(r["pin"]) for r in rows)
    assert counts == {"distributed": BIG}
    export = next(e for e in log if e["action"] == "voucher_batch.export")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert export["data"]["files"] == [{"name": path.name, "sha256": digest}]
    assert export["actor_id"] == staff and export["data"]["cards"] == BIG


def test_a_batch_is_generated_once(db: Database, staff: int) -> None:
    made = make_batch(db, count=3, activate=False)
    with pytest.raises(VoucherStateConflict):
        vouchers.generate(db, made.batch.id, [ListSink()], actor_id=staff)
    with db.unit(readonly=True) as uow:
        assert vouchers.batch_counts(uow, made.batch.id) == {"distributed": 3}


@pytest.mark.parametrize("clash", ["stored before", "drawn twice"])
def test_a_pin_the_index_refuses_is_drawn_again_and_never_printed(
        db: Database, staff: int, monkeypatch: pytest.MonkeyPatch, clash: str) -> None:
    taken = make_batch(db, count=3).pins[0]
    real, calls = generate_module.new_pins, []

    def unlucky(n: int, length: int) -> list[str]:
        calls.append(n)
        drawn = real(n, length)
        if len(calls) == 1:  # the first, unchecked draw of the chunk
            drawn[-1] = taken if clash == "stored before" else drawn[0]
        return drawn

    monkeypatch.setattr(generate_module, "new_pins", unlucky)
    batch = new_batch(db, 50, staff)
    sink = ListSink()
    done = vouchers.generate(db, batch.id, [sink], actor_id=staff)
    pins = [c.pin for c in sink.cards]
    assert done.complete and len(calls) >= 2
    assert len(pins) == 50 and len(set(pins)) == 50 and taken not in pins
    hasher = PinHasher(db.settings.secret_key)
    with db.unit(readonly=True) as uow:
        stored = dict(uow.conn.execute(select(voucher_table.c.serial, voucher_table.c.pin_hash)
                                       .where(voucher_table.c.batch_id == batch.id)).all())
    assert stored == {int(c.serial): hasher(c.pin) for c in sink.cards}


def test_a_second_run_of_the_same_batch_is_refused_with_nothing_printed(
        db: Database, staff: int) -> None:
    batch = new_batch(db, 10, staff)
    with db.unit() as uow:  # the other run's first card is in
        uow.conn.execute(insert(voucher_table).values(
            batch_id=batch.id, serial=int(batch.serial_first), pin_hash="0" * 64,
            state="generated", holds=0))
    sink = ListSink()
    with pytest.raises(VoucherStateConflict, match="another run"):
        vouchers.generate(db, batch.id, [sink], actor_id=staff)
    assert sink.cards == []


def test_pdf_sheets_carry_serial_pin_value_expiry_and_both_languages(
        db: Database, staff: int, tmp_path: Path) -> None:
    batch = new_batch(db, 23, staff)
    sink = PdfSink(tmp_path, file_stem(batch), "Lotus Mobile", per_file=10)
    cards = ListSink()
    vouchers.generate(db, batch.id, [sink, cards], actor_id=staff, chunk=7)
    files = sorted(tmp_path.glob("*.pdf"))
    assert [f.name for f in files] == [f"{file_stem(batch)}-{n:03d}.pdf" for n in (1, 2, 3)]
    texts = []
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        reader = PdfReader(f)
        texts.append("\n".join(page.extract_text() for page in reader.pages))
    assert [len(PdfReader(f).pages) for f in files] == [1, 1, 1]
    everything = "\n".join(texts)
    for card in cards.cards:
        assert card.serial in everything and grouped(card.pin) in everything
    assert "充值方法" in everything and "Top up: enter the PIN" in everything
    assert "100.00 CNY" in everything and "Lotus Mobile" in everything
    assert batch.expires_at.date().isoformat() in everything


def test_pdf_without_a_cjk_font_falls_back_to_english(db: Database, staff: int,
                                                      tmp_path: Path) -> None:
    batch = new_batch(db, 2, staff)
    vouchers.generate(db, batch.id, [PdfSink(tmp_path, "x", "Lotus", fonts=())], actor_id=staff)
    text = PdfReader(next(tmp_path.glob("*.pdf"))).pages[0].extract_text()
    assert "Top up: enter the PIN" in text and "充值" not in text


def test_activation_books_the_liability_once_and_needs_a_distributor(
        db: Database, staff: int) -> None:
    made = make_batch(db, count=40, face=20_00, activate=False, distributor=None)
    with db.unit() as uow, pytest.raises(InvalidBatch):
        vouchers.activate_batch(uow, made.batch.id, staff)
    with db.unit() as uow:
        batch = vouchers.activate_batch(uow, made.batch.id, staff, distributor="Post Office")
    assert batch.state == "active" and batch.distributor == "Post Office"
    with db.unit() as uow, pytest.raises(VoucherStateConflict):
        vouchers.activate_batch(uow, made.batch.id, staff)
    assert operator_total(db, "voucher_liability") == 40 * 20_00
    assert operator_total(db, "voucher_sales") == -40 * 20_00
    with db.unit(readonly=True) as uow:
        assert vouchers.batch_counts(uow, made.batch.id) == {"active": 40}
        actions = [e["action"] for e in entries(uow, f"voucher_batch:{made.batch.id}")]
    assert actions[0] == "voucher_batch.activate"


def test_an_incomplete_batch_cannot_be_activated(db: Database, staff: int) -> None:
    batch = new_batch(db, 5, staff, distributor="X")
    with db.unit() as uow, pytest.raises(VoucherStateConflict):
        vouchers.activate_batch(uow, batch.id, staff)


def test_blocking_a_range_skips_used_cards_and_unblocking_restores(
        db: Database, staff: int, line) -> None:
    made = make_batch(db, count=6, face=5_00)
    vouchers.redeem(db, made.pins[2], line.id, vouchers.RedeemContext(channel="api"))
    first, last = made.cards[1].serial, made.cards[4].serial
    with db.unit() as uow:
        assert vouchers.block_range(uow, first, last, staff, "box 12 stolen") == 3
    with db.unit(readonly=True) as uow:
        states = [vouchers.check_serial(uow, c.serial).state for c in made.cards]
    assert states == ["active", "blocked", "used", "blocked", "blocked", "active"]
    with db.unit() as uow:
        assert vouchers.unblock_range(uow, first, last, staff, "box found") == 3
    with db.unit(readonly=True) as uow:
        states = [vouchers.check_serial(uow, c.serial).state for c in made.cards]
        log = [e["action"] for e in entries(uow, f"vouchers:{first}-{last}")]
    assert states == ["active", "active", "used", "active", "active", "active"]
    assert log == ["voucher.unblock", "voucher.block"]


def test_serial_ranges_follow_each_other(db: Database, staff: int) -> None:
    a = new_batch(db, 10, staff)
    b = new_batch(db, 5, staff)
    assert int(b.serial_first) == int(a.serial_last) + 1
    assert len(a.serial_first) == 12 and not a.serial_first.startswith("0")


@pytest.mark.parametrize("spec, field", [
    ({"count": 0}, "count"),
    ({"pin_length": 13}, "pin_length"),
    ({"days": -1}, "expires_at"),
    ({"face_amount": 0}, "face_amount"),
])
def test_bad_batches_are_refused(db: Database, staff: int, spec: dict, field: str) -> None:
    with db.unit() as uow:
        values = {"count": 5, "face_amount": 100, "pin_length": 16, "currency": "CNY"}
        values |= {k: v for k, v in spec.items() if k != "days"}
        expires = uow.now + timedelta(days=spec.get("days", 30))
        with pytest.raises(InvalidBatch) as exc:
            vouchers.create_batch(uow, vouchers.BatchSpec(expires_at=expires, **values), staff)
    assert exc.value.extra["field"] == field
