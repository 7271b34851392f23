"""Online charging as a state machine (hypothesis): random sessions and rating groups on one
line with a little money in Thailand, use within and beyond what was granted, top-ups,
retransmissions, and gateways going silent.

Always: what is held and what was charged never exceed what the line was given; a
retransmission answers as the first time and moves nothing; the units held are exactly the
open grants; every use is charged once (the wallet plus everything charged is what was
credited). At the end every session is closed, nothing is held, and the books balance (the
suite's fixture)."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)
from sqlalchemy import func, select

from tests.factories import make_line
from topup.charging.errors import ChargingSessionClosed
from topup.charging.sessions import (
    MARGIN,
    VALIDITY,
    Answer,
    Ask,
    charge,
    held_now,
    live_sessions,
    release_silent,
)
from topup.charging.tables import charging_grants, charging_sessions, usage_records
from topup.db.uow import Database
from topup.ledger import service as ledger

MIB = 1024**2
RATE = 50  # minor units per MiB of data in Thailand, in CNY (the demo catalogue)
REFS = itertools.count()


class _Session:
    def __init__(self, ref: str, groups: list[int]) -> None:
        self.ref, self.groups = ref, groups
        self.number = 0
        self.granted: dict[int, int] = {}
        self.last: tuple[int, str, list[Ask], Answer] | None = None
        self.open = True


def test_charging_sessions_keep_the_money_right(catalogue: Database) -> None:
    db = catalogue

    class Sessions(RuleBasedStateMachine):
        sessions = Bundle("sessions")

        @initialize(money=st.integers(0, 5_00))
        def line(self, money: int) -> None:
            self.line = make_line(db)
            self.credited = 0
            self.all: list[_Session] = []
            if money:
                self._top_up(money)

        def _top_up(self, amount: int) -> None:
            with db.unit() as uow:
                ledger.transfer(uow, f"prop:{self.line.id}:{self.credited}:{amount}",
                                ledger.operator_account(uow, "manual_credit", "money:CNY",
                                                        line_id=self.line.id),
                                ledger.wallet(uow, self.line.id, "CNY"), amount, code="topup")
            self.credited += amount

        def _send(self, s: _Session, kind: str, asks: list[Ask]) -> Answer | None:
            with db.unit() as uow:
                try:
                    answer = charge(uow, s.ref, s.number, kind, asks, line=self.line,
                                    country="TH")
                except ChargingSessionClosed:
                    s.open = False  # released while silent
                    s.granted.clear()
                    return None
            s.last = (s.number, kind, asks, answer)
            s.number += 1
            for g in answer.grants:
                s.granted[g.rating_group] = g.granted
            if kind == "terminate":
                s.open = False
                s.granted.clear()
            return answer

        @rule(target=sessions, groups=st.lists(st.integers(1, 4), min_size=1, max_size=3,
                                               unique=True),
              want=st.integers(0, 6 * MIB))
        def open_session(self, groups: list[int], want: int) -> _Session:
            s = _Session(f"prop;{next(REFS)}", groups)
            self.all.append(s)
            answer = self._send(s, "initial", [Ask(g, "data", requested=want or None)
                                               for g in groups])
            assert answer is not None
            return s

        @rule(s=sessions, share=st.floats(0, 1.5), want=st.integers(0, 6 * MIB))
        def update(self, s: _Session, share: float, want: int) -> None:
            if not s.open:
                return
            self._send(s, "update", [Ask(g, "data", used=int(s.granted.get(g, 0) * share),
                                         requested=want or None) for g in s.groups])

        @rule(s=consumes(sessions), share=st.floats(0, 1.2))
        def terminate(self, s: _Session, share: float) -> None:
            if s.open:
                self._send(s, "terminate", [Ask(g, "data", used=int(s.granted.get(g, 0)
                                                                       * share))
                                            for g in s.groups])

        @rule(s=sessions)
        def retransmit(self, s: _Session) -> None:
            if s.last is None:
                return
            number, kind, asks, first = s.last
            before = self._money()
            with db.unit() as uow:
                again = charge(uow, s.ref, number, kind, asks, line=self.line, country="TH")
            assert again == first
            assert self._money() == before

        @rule(amount=st.integers(1, 3_00))
        def top_up(self, amount: int) -> None:
            self._top_up(amount)

        @rule()
        def go_silent(self) -> None:
            db.clock.advance(seconds=(VALIDITY + MARGIN).total_seconds())  # type: ignore[attr-defined]
            with db.unit() as uow:
                release_silent(uow)
            for s in self.all:
                if s.open:
                    s.open = False
                    s.granted.clear()

        def _money(self) -> tuple[int, int, int]:
            with db.unit(readonly=True) as uow:
                wallet = ledger.balance(uow, ledger.wallet(uow, self.line.id, "CNY"))
                uses = uow.conn.execute(select(
                    usage_records.c.quantity, usage_records.c.from_money,
                    usage_records.c.money_charged, usage_records.c.uncovered).where(
                    usage_records.c.line_id == self.line.id)).all()
            for quantity, from_money, charged, uncovered in uses:
                assert charged == -(-from_money * RATE // MIB), "each use at its price"
                assert from_money + uncovered == quantity, "no plan here: money or nothing"
            return wallet.posted, wallet.pending_debits, sum(int(u[2]) for u in uses)

        @invariant()
        def money_is_never_made_or_lost(self) -> None:
            if not hasattr(self, "line"):
                return
            posted, held, charged = self._money()
            assert 0 <= held <= posted, "nothing held that the wallet does not have"
            assert posted + charged == self.credited, "every use charged once"
            with db.unit(readonly=True) as uow:
                holding = held_now(uow, self.line.id).get("data", 0)
            grants = [g for s in self.all if s.open for g in s.granted.values()]
            assert holding == sum(grants), "the units held are the open grants"
            assert held == sum(-(-g * RATE // MIB) for g in grants), \
                "each grant holds its price, rounded up"
            with db.unit(readonly=True) as uow:
                shown = {s.ref: s.used.get("data", 0) for s in live_sessions(uow, self.line.id)}
                closed = dict(uow.conn.execute(
                    select(charging_sessions.c.ref, func.sum(charging_grants.c.used))
                    .join(charging_grants, charging_grants.c.session_id == charging_sessions.c.id)
                    .where(charging_sessions.c.line_id == self.line.id,
                           charging_grants.c.state == "closed")
                    .group_by(charging_sessions.c.ref)).all())
            assert shown == {ref: int(closed.get(ref) or 0) for ref in shown}, \
                "a live session has used what its closed grants used"

        def teardown(self) -> None:
            if not hasattr(self, "line"):
                return
            for s in self.all:
                if s.open:
                    self._send(s, "terminate", [Ask(g, "data") for g in s.groups])
            posted, held, charged = self._money()
            assert held == 0 and posted + charged == self.credited

    run: Any = Sessions.TestCase
    run.settings = settings(max_examples=20, stateful_step_count=12, deadline=None,
                            suppress_health_check=list(HealthCheck))
    run().runTest()
