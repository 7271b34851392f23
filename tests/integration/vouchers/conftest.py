"""Voucher fixtures: batches generated into memory, a traveller's line, the demo catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from tests.factories import make_line, make_user
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers
from topup.vouchers.generate import Card


@dataclass
class ListSink:
    """Keeps the generated cards in memory (tests only: the real sinks write files)."""

    cards: list[Card] = field(default_factory=list)
    closed: bool = False

    def write(self, cards: Sequence[Card]) -> None:
        self.cards.extend(cards)

    def close(self) -> list[Path]:
        self.closed = True
        return []


@dataclass
class Made:
    batch: vouchers.BatchView
    cards: list[Card]

    @property
    def pins(self) -> list[str]:
        return [c.pin for c in self.cards]


def make_batch(db: Database, *, count: int = 5, face: int | None = 100_00,
               currency: str = "CNY", plan_id: int | None = None, days: int = 365,
               activate: bool = True, distributor: str | None = "Lucky Mart",
               pin_length: int = 16, actor: int | None = None) -> Made:
    """A generated batch (activated unless told otherwise) and its cards."""
    with db.unit() as uow:
        batch = vouchers.create_batch(uow, vouchers.BatchSpec(
            count=count, face_amount=None if plan_id else face, currency=currency,
            plan_id=plan_id, expires_at=uow.now + timedelta(days=days),
            distributor=distributor, pin_length=pin_length), actor)
    sink = ListSink()
    batch = vouchers.generate(db, batch.id, [sink], actor_id=actor)
    if activate:
        with db.unit() as uow:
            batch = vouchers.activate_batch(uow, batch.id, actor)
    return Made(batch, sink.cards)


def wallet(db: Database, line_id: int, currency: str = "CNY") -> int:
    with db.unit(readonly=True) as uow:
        found = ledger.wallets(uow, line_id).get(currency)
        return found.posted if found else 0


def operator_total(db: Database, kind: str, currency: str = "CNY") -> int:
    """The posted balance of an operator account summed over its shards."""
    from sqlalchemy import func, select

    from topup.ledger.tables import accounts

    with db.unit(readonly=True) as uow:
        return int(uow.conn.execute(select(func.coalesce(func.sum(
            accounts.c.credits_posted - accounts.c.debits_posted), 0)).where(
            accounts.c.kind == kind, accounts.c.unit == f"money:{currency}")).scalar_one())


@pytest.fixture
def line(db: Database) -> Line:
    """A provisioned CNY line in Thailand."""
    return make_line(db, country="TH", currency="CNY")


@pytest.fixture
def staff(db: Database) -> int:
    return make_user(db, "admin").id
