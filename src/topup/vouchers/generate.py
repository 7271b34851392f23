"""Generating a batch's cards, and the one export of their PINs.

PINs are kept only as hashes, so the printer files are written while the cards are made: the
caller passes sinks (CSV, PDF…), each chunk of cards is inserted and handed to the sinks in
the same unit of work, and then the PINs are gone from memory. A batch is generated exactly
once; a lost export cannot be repeated (block the batch and make a new one). The export is
audited: who, which files, how many cards, and each file's SHA-256.

Chunks commit one by one, so a million cards never hold SQLite's writer lock for long and
redemptions carry on meanwhile. A batch whose run stopped half-way stays incomplete: it can be
neither activated nor sold from; block it and generate a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.db.uow import Database, UnitOfWork
from topup.money import Money
from topup.vouchers.batches import get_batch
from topup.vouchers.errors import VoucherStateConflict
from topup.vouchers.pins import PinHasher, new_pin
from topup.vouchers.tables import voucher_batches, vouchers
from topup.vouchers.views import BatchView, serial_text

CHUNK = 5000


@dataclass(frozen=True)
class Card:
    """One printed card: the only place a PIN ever exists in clear."""

    batch_id: int
    serial: str
    pin: str
    face: Money
    plan_name_en: str | None
    plan_name_zh: str | None
    expires_at: datetime


class CardSink(Protocol):
    """Where generated cards go (a CSV file for the print shop, PDF sheets…)."""

    def write(self, cards: Sequence[Card]) -> None:
        """Take one chunk of cards, in serial order."""

    def close(self) -> list[Path]:
        """Finish writing; the files written."""


@dataclass(frozen=True)
class _Terms:
    batch: BatchView
    state: str
    plan_en: str | None
    plan_zh: str | None


def _start(uow: UnitOfWork, batch_id: int, actor_id: int | None) -> _Terms:
    batch = get_batch(uow, batch_id, lock=True)
    if batch.generated or batch.complete:
        raise VoucherStateConflict("this batch was generated before; its PINs cannot be "
                                   "produced again: block it and create a new batch")
    if batch.state != "created":
        raise VoucherStateConflict(f"the batch is {batch.state}", batch_state=batch.state)
    plan = catalog.get_plan(uow, batch.plan_id) if batch.plan_id is not None else None
    audit(uow, actor_id, "voucher_batch.generate", f"voucher_batch:{batch_id}",
          count=batch.count)
    state = "distributed" if batch.distributor or batch.agent_id is not None else "generated"
    return _Terms(batch, state, plan.name_en if plan else None, plan.name_zh if plan else None)


def _fresh_pins(uow: UnitOfWork, hasher: PinHasher, n: int, length: int
                ) -> list[tuple[str, str]]:
    """``n`` new (PIN, hash) pairs whose hashes no stored voucher has and none repeats."""
    out: dict[str, str] = {}
    while len(out) < n:
        want = n - len(out)
        batch = {}
        for _ in range(want):
            pin = new_pin(length)
            batch[hasher(pin)] = pin
        taken = set(uow.conn.execute(select(vouchers.c.pin_hash).where(
            vouchers.c.pin_hash.in_(list(batch)))).scalars())
        out.update((h, p) for h, p in batch.items() if h not in taken and h not in out)
    return [(p, h) for h, p in list(out.items())[:n]]


def _chunk(uow: UnitOfWork, terms: _Terms, hasher: PinHasher, first: int, n: int,
           sinks: Sequence[CardSink]) -> None:
    b = terms.batch
    pairs = _fresh_pins(uow, hasher, n, b.pin_length)
    uow.conn.execute(insert(vouchers), [
        {"batch_id": b.id, "serial": first + i, "pin_hash": h, "state": terms.state,
         "holds": 0} for i, (_, h) in enumerate(pairs)])
    uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == b.id).values(
        generated=voucher_batches.c.generated + n))
    cards = [Card(b.id, serial_text(first + i), pin, b.face, terms.plan_en, terms.plan_zh,
                  b.expires_at) for i, (pin, _) in enumerate(pairs)]
    for sink in sinks:
        sink.write(cards)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def generate(db: Database, batch_id: int, sinks: Sequence[CardSink], *,
             actor_id: int | None, progress: Callable[[int], None] | None = None,
             chunk: int = CHUNK) -> BatchView:
    """Make every card of a created batch, writing each to ``sinks`` as it is made.

    Raises VoucherStateConflict when the batch was generated (or started) before. The sinks
    are closed at the end, and the export is audited with each file's SHA-256.
    """
    with db.unit() as uow:
        terms = _start(uow, batch_id, actor_id)
    hasher = PinHasher(db.settings.secret_key)
    b = terms.batch
    first = int(b.serial_first)
    done = 0
    while done < b.count:
        n = min(chunk, b.count - done)
        try:
            with db.unit() as uow:
                _chunk(uow, terms, hasher, first + done, n, sinks)
        except IntegrityError as exc:  # another run of the same batch got there first
            raise VoucherStateConflict("this batch is being generated by another run") from exc
        done += n
        if progress is not None:
            progress(n)
    files = [p for sink in sinks for p in sink.close()]
    with db.unit() as uow:
        uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == b.id).values(
            generated_at=uow.now))
        audit(uow, actor_id, "voucher_batch.export", f"voucher_batch:{b.id}", cards=done,
              files=[{"name": p.name, "sha256": _digest(p)} for p in files])
        return get_batch(uow, b.id)
