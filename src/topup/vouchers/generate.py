"""Generating a batch's cards, and the one export of their PINs.

PINs are kept only as hashes, so the printer files are written while the cards are made: the
caller passes sinks (CSV, PDF…), each chunk of cards is inserted and handed to the sinks in
the same unit of work, and then the PINs are gone from memory. A batch is generated exactly
once; a lost export cannot be repeated (block the batch and make a new one). The export is
audited: who, which files, how many cards, and each file's SHA-256.

Chunks of 50,000 cards commit one by one, so a million cards never hold SQLite's writer lock
for more than about a second at a time and redemptions carry on meanwhile; each chunk goes in
as one bulk insert (``db.bulk``), its PINs drawn from one read of the CSPRNG. A batch whose run
stopped half-way stays incomplete: it can be neither activated nor sold from; block it and
generate a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol, overload

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.db.bulk import insert_rows
from topup.db.uow import Database, UnitOfWork
from topup.money import Money
from topup.vouchers.batches import get_batch
from topup.vouchers.errors import VoucherStateConflict
from topup.vouchers.pins import PinHasher, new_pins
from topup.vouchers.tables import voucher_batches, vouchers
from topup.vouchers.views import BatchView, serial_text

CHUNK = 50_000
_LOOKUP = 10_000


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


@dataclass(frozen=True)
class CardChunk(Sequence[Card]):
    """A chunk of cards with consecutive serials, in serial order, as the sinks receive it.

    What every card of a batch shares is held once; a ``Card`` is made only when a sink asks
    for one (the PDF draws card by card, the CSV reads ``serials`` and ``pins`` directly).
    """

    batch_id: int
    face: Money
    plan_name_en: str | None
    plan_name_zh: str | None
    expires_at: datetime
    first_serial: int
    pins: Sequence[str]

    def serials(self) -> list[str]:
        """The printed serials, one per PIN."""
        return [serial_text(s) for s in range(self.first_serial,
                                               self.first_serial + len(self.pins))]

    def __len__(self) -> int:
        return len(self.pins)

    @overload
    def __getitem__(self, index: int) -> Card: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Card]: ...

    def __getitem__(self, index: int | slice) -> Card | Sequence[Card]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        at = range(len(self))[index]
        return Card(self.batch_id, serial_text(self.first_serial + at), self.pins[at],
                    self.face, self.plan_name_en, self.plan_name_zh, self.expires_at)

    def __iter__(self) -> Iterator[Card]:
        return (self[i] for i in range(len(self)))


class CardSink(Protocol):
    """Where generated cards go (a CSV file for the print shop, PDF sheets…)."""

    def write(self, cards: CardChunk) -> None:
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


def _drawn(hasher: PinHasher, n: int, length: int) -> list[tuple[str, str]]:
    """``n`` new (hash, PIN) pairs, unchecked: the UNIQUE index judges them."""
    pins = new_pins(n, length)
    return list(zip(hasher.many(pins), pins, strict=True))


def _checked(uow: UnitOfWork, hasher: PinHasher, n: int, length: int
             ) -> list[tuple[str, str]]:
    """``n`` new (hash, PIN) pairs, no hash stored before and none repeated."""
    out: dict[str, str] = {}
    while len(out) < n:
        drawn = dict(_drawn(hasher, n - len(out), length))
        keys = list(drawn)
        taken: set[str] = set()
        for at in range(0, len(keys), _LOOKUP):  # within every back end's parameter limit
            taken.update(uow.conn.execute(select(vouchers.c.pin_hash).where(
                vouchers.c.pin_hash.in_(keys[at:at + _LOOKUP]))).scalars())
        out.update((h, p) for h, p in drawn.items() if h not in taken and h not in out)
    return list(out.items())[:n]


def _chunk(uow: UnitOfWork, terms: _Terms, hasher: PinHasher, first: int, n: int,
           sinks: Sequence[CardSink], *, check: bool) -> None:
    b = terms.batch
    # Serials are handed out in hash order: the PIN index then takes its keys in order and
    # each of its pages is read and written once per chunk, not once per card. The order of
    # keyed hashes tells nothing about the PINs to anyone without the key.
    pairs = sorted(_checked(uow, hasher, n, b.pin_length) if check
                   else _drawn(hasher, n, b.pin_length))
    insert_rows(uow.conn, vouchers, ("serial", "pin_hash"),
                zip(range(first, first + n), (h for h, _ in pairs), strict=True),
                same={"batch_id": b.id, "state": terms.state, "holds": 0})
    uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == b.id).values(
        generated=voucher_batches.c.generated + n))
    cards = CardChunk(b.id, b.face, terms.plan_en, terms.plan_zh, b.expires_at, first,
                      [p for _, p in pairs])
    for sink in sinks:
        sink.write(cards)


def _commit_chunk(db: Database, terms: _Terms, hasher: PinHasher, first: int, n: int,
                  sinks: Sequence[CardSink]) -> None:
    """One chunk in its own unit of work.

    PINs are drawn without a lookup, and the UNIQUE index refuses a hash that is stored
    already (rare: one card in 10^8 against ten million stored 16-digit cards) before any
    sink sees the chunk; then the chunk is drawn again with every hash looked up first. A
    refusal after that is the serials: another run is generating the same batch.
    """
    try:
        with db.unit() as uow:
            _chunk(uow, terms, hasher, first, n, sinks, check=False)
        return
    except IntegrityError:
        pass
    try:
        with db.unit() as uow:
            _chunk(uow, terms, hasher, first, n, sinks, check=True)
    except IntegrityError as exc:
        raise VoucherStateConflict("this batch is being generated by another run") from exc


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
    terms = db.transact(lambda uow: _start(uow, batch_id, actor_id), what="voucher generation")
    hasher = PinHasher(db.settings.secret_key)
    b = terms.batch
    first = int(b.serial_first)
    done = 0
    while done < b.count:
        n = min(chunk, b.count - done)
        _commit_chunk(db, terms, hasher, first + done, n, sinks)
        done += n
        if progress is not None:
            progress(n)
    files = [p for sink in sinks for p in sink.close()]
    digests = [{"name": p.name, "sha256": _digest(p)} for p in files]

    def finish(uow: UnitOfWork) -> BatchView:
        uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == b.id).values(
            generated_at=uow.now))
        audit(uow, actor_id, "voucher_batch.export", f"voucher_batch:{b.id}", cards=done,
              files=digests)
        return get_batch(uow, b.id)

    return db.transact(finish, what="voucher generation")
