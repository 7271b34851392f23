"""Property: whatever sequence of fundings, top-ups and voucher sales an agent goes through,
its float equals the sum of its own transfers, never goes below zero, and matches a simple
model in which a sale the float cannot pay is refused whole."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_line, make_user
from topup.agents.agents import AgentSpec, create_agent, set_tier
from topup.agents.commission import commission_of
from topup.agents.errors import FloatInsufficient
from topup.agents.floats import float_account, fund_float
from topup.agents.topups import Seller, sell_topup
from topup.agents.voucher_sales import sell_voucher
from topup.db.uow import Database, UnitOfWork
from topup.ledger import service as ledger
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers

BP, VOUCHER_BP = 175, 250
CARD = 30_00


@dataclass(frozen=True)
class World:
    lines: list[Line]
    seller_id: int
    serials: Iterator[str]  # unsold cards, each sold at most once over all examples


@pytest.fixture
def world(db: Database) -> World:
    with db.unit() as uow:
        set_tier(uow, "prop", "Property", BP, VOUCHER_BP, actor_id=None)
    lines = [make_line(db, msisdn=f"+8526123410{n}", country="HK") for n in range(3)]
    return World(lines, make_user(db, "agent").id, iter(card_serials(db, 150)))


def card_serials(db: Database, count: int) -> list[str]:
    with db.unit() as uow:
        batch = vouchers.create_batch(uow, vouchers.BatchSpec(
            count=count, face_amount=CARD, currency="CNY", distributor="shops",
            expires_at=uow.now + timedelta(days=30)), None)
    sink = Sink()
    vouchers.generate(db, batch.id, [sink], actor_id=None)
    return [c.serial for c in sink.cards]


@dataclass
class Sink:
    cards: list[Any] = field(default_factory=list)

    def write(self, cards: Sequence[Any]) -> None:
        self.cards.extend(cards)

    def close(self) -> list[Path]:
        return []


ops = st.lists(st.one_of(
    st.tuples(st.just("fund"), st.integers(1, 200_00)),
    st.tuples(st.just("topup"), st.integers(1, 150_00)),
    st.tuples(st.just("voucher"), st.just(CARD)),
), min_size=1, max_size=12)

_agents = itertools.count()


def sell(uow: UnitOfWork, seller: Seller, op: str, world: World, n: int, amount: int
         ) -> None:
    if op == "topup":
        sell_topup(uow, seller, world.lines[n % len(world.lines)].msisdn or "", amount)
    else:
        sell_voucher(uow, seller, next(world.serials))


def transfers_sum(db: Database, acct: int) -> int:
    with db.unit(readonly=True) as uow:
        moves = ledger.account_transfers(uow, [acct], limit=10_000)
    return sum(t.amount if t.credit_account_id == acct else -t.amount for t in moves
               if t.kind in ("posted", "post_pending"))


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=ops)
def test_float_is_its_transfers_and_never_negative(db: Database, world: World,
                                                   steps: list[tuple[str, int]]) -> None:
    with db.unit() as uow:
        agent = create_agent(uow, AgentSpec("dealer", f"Dealer {next(_agents)}", "prop", "HK",
                                            "CNY"), actor_id=None)
        acct = float_account(uow, agent)
    model = 0
    for n, (op, amount) in enumerate(steps):
        if op == "fund":
            with db.unit() as uow:
                fund_float(uow, agent.id, amount, key=uuid.uuid4().hex, reason="bank",
                           actor_id=None)
            model += amount
        else:
            try:
                with db.unit() as uow:
                    sell(uow, Seller(agent.id, world.seller_id), op, world, n, amount)
                assert amount <= model, "a sale the float could not pay went through"
                model += commission_of(amount, BP if op == "topup" else VOUCHER_BP) - amount
            except FloatInsufficient:
                assert amount > model, "a sale the float could pay was refused"
        with db.unit(readonly=True) as uow:
            posted = ledger.balance(uow, acct).posted
        assert posted == model == transfers_sum(db, acct)
        assert posted >= 0
