"""Daily statement per agent and reconciliation report per terminal, from the ledger.

A day is a UTC calendar day (the platform keeps every time in UTC; there is no operator time
zone setting). The statement reads the posted transfers on the agent's float account and
sorts them by their code; whatever no heading claims lands in ``other_in``/``other_out``, so
``opening + money in - money out = closing`` always holds, and the opening and closing are
summed from the ledger on their own, which is what makes the identity a real check.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select

from topup.agents.agents import Agent, get_agent
from topup.agents.commission import CODE as COMMISSION_CODE
from topup.agents.floats import float_account, float_account_id
from topup.agents.terminals import get_terminal
from topup.agents.topups import Sale, sales_of
from topup.db.uow import UnitOfWork
from topup.ledger.tables import transfers
from topup.money import Money

FUNDING_CODE = "agent_float_fund"
TOPUP_CODES = ("topup", "fx")  # fx: the float's side of a top-up into another currency
VOUCHER_CODES = ("voucher_sale",)  # named by topup.vouchers.sales
POSTED = ("posted", "post_pending")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC start (inclusive) and end (exclusive) of ``day``."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


@dataclass(frozen=True)
class Movement:
    """One posted transfer seen from the float: positive in, negative out."""

    code: str
    ref: str | None
    amount: int  # signed


@dataclass
class Statement:
    """An agent's float over one day, in minor units of its currency."""

    agent_id: int
    currency: str
    day: date
    opening: int
    closing: int
    funded: int = 0
    fundings: int = 0
    topups: int = 0
    topup_count: int = 0
    vouchers: int = 0
    voucher_count: int = 0
    commission: int = 0
    other_in: int = 0
    other_out: int = 0

    @property
    def money_in(self) -> int:
        return self.funded + self.commission + self.other_in

    @property
    def money_out(self) -> int:
        return self.topups + self.vouchers + self.other_out

    @property
    def reconciles(self) -> bool:
        """True when opening + in - out equals the closing balance read from the ledger."""
        return self.opening + self.money_in - self.money_out == self.closing


# The ledger service pages transfers by id only; a statement needs them by time, so this one
# read-only query goes to the ledger's table directly (it never writes there).
def _signed(acct: int) -> Any:
    return case((transfers.c.credit_account_id == acct, transfers.c.amount),
                else_=-transfers.c.amount)


def _touches(acct: int) -> Any:
    return or_(transfers.c.debit_account_id == acct, transfers.c.credit_account_id == acct)


def posted_balance_at(uow: UnitOfWork, acct: int, at: datetime) -> int:
    """The account's posted balance from every transfer made before ``at``."""
    total = uow.conn.execute(select(func.coalesce(func.sum(_signed(acct)), 0)).where(
        _touches(acct), transfers.c.kind.in_(POSTED), transfers.c.created_at < at)).scalar()
    return int(total or 0)


def movements(uow: UnitOfWork, acct: int, start: datetime, end: datetime,
              refs: set[str] | None = None) -> list[Movement]:
    """The posted transfers on ``acct`` made in ``[start, end)`` (only ``refs``, if given)."""
    cond = _touches(acct) & transfers.c.kind.in_(POSTED) & (transfers.c.created_at >= start) & (
        transfers.c.created_at < end)
    if refs is not None:
        cond = cond & transfers.c.ref.in_(sorted(refs))
    rows = uow.conn.execute(select(transfers.c.code, transfers.c.ref, _signed(acct).label("s"))
                            .where(cond).order_by(transfers.c.id))
    return [Movement(r.code, r.ref, int(r.s)) for r in rows]


def float_after(uow: UnitOfWork, sale: Sale) -> Money:
    """What the seller's float held right after ``sale`` (its debit and its commission), as a
    receipt shows it: the posted transfers on the float up to the sale's last one (a later
    movement with the same ref, a refund say, is not the sale's). Every movement of one float
    happens with the agent's row locked, so ids follow their order."""
    agent = get_agent(uow, sale.agent_id)
    acct = float_account(uow, agent)
    mine = _touches(acct) & transfers.c.kind.in_(POSTED)
    last = uow.conn.execute(select(func.max(transfers.c.id)).where(
        mine, transfers.c.ref == sale.ledger_ref,
        transfers.c.created_at <= sale.created_at)).scalar()
    if last is None:  # nothing of the sale reached the ledger: the balance at the sale's time
        return Money(posted_balance_at(uow, acct, sale.created_at), agent.currency)
    total = uow.conn.execute(select(func.coalesce(func.sum(_signed(acct)), 0)).where(
        mine, transfers.c.id <= last)).scalar()
    return Money(int(total or 0), agent.currency)


def _classify(st: Statement, moves: list[Movement]) -> None:
    topup_refs: set[str] = set()
    voucher_seen: set[str] = set()
    for m in moves:
        if m.amount > 0 and m.code == FUNDING_CODE:
            st.funded, st.fundings = st.funded + m.amount, st.fundings + 1
        elif m.amount > 0 and m.code == COMMISSION_CODE:
            st.commission += m.amount
        elif m.amount < 0 and m.code in TOPUP_CODES:
            st.topups -= m.amount
            topup_refs.add(m.ref or "")
        elif m.amount < 0 and m.code in VOUCHER_CODES:
            st.vouchers -= m.amount
            voucher_seen.add(m.ref or "")
        elif m.amount > 0:
            st.other_in += m.amount
        else:
            st.other_out -= m.amount
    st.topup_count, st.voucher_count = len(topup_refs), len(voucher_seen)


def daily_statement(uow: UnitOfWork, agent_id: int, day: date) -> Statement:
    """The agent's float statement for one UTC day."""
    agent = get_agent(uow, agent_id)
    start, end = day_bounds(day)
    acct = float_account_id(uow, agent)
    if acct is None:  # never funded, never sold: nothing moved
        return Statement(agent.id, agent.currency, day, 0, 0)
    st = Statement(agent.id, agent.currency, day, posted_balance_at(uow, acct, start),
                   posted_balance_at(uow, acct, end))
    _classify(st, movements(uow, acct, start, end))
    return st


@dataclass
class TerminalReport:
    """What one terminal sold on one day, to reconcile its cash box and card settlements."""

    terminal_id: int
    key_id: str
    agent_id: int
    currency: str
    day: date
    topup_count: int = 0
    topups: int = 0
    voucher_count: int = 0
    vouchers: int = 0
    commission: int = 0
    float_debited: int = 0
    by_tender: dict[str, int] = field(default_factory=dict)
    sales: list[Sale] = field(default_factory=list)


def terminal_report(uow: UnitOfWork, terminal_id: int, day: date) -> TerminalReport:
    """A terminal's sales on one UTC day with what each took from the float (ledger)."""
    terminal = get_terminal(uow, terminal_id)
    agent: Agent = get_agent(uow, terminal.agent_id)
    start, end = day_bounds(day)
    sales = sales_of(uow, agent.id, start=start, end=end, terminal_id=terminal.id)
    report = TerminalReport(terminal.id, terminal.key_id, agent.id, agent.currency, day,
                            sales=sales)
    per_ref: dict[str, list[Movement]] = defaultdict(list)
    refs = {s.ledger_ref for s in sales}
    acct = float_account_id(uow, agent)
    if refs and acct is not None:
        for m in movements(uow, acct, start, end, refs):
            per_ref[m.ref or ""].append(m)
    for s in sales:
        out = -sum(m.amount for m in per_ref[s.ledger_ref] if m.amount < 0)
        earned = sum(m.amount for m in per_ref[s.ledger_ref]
                     if m.amount > 0 and m.code == COMMISSION_CODE)
        if s.kind == "topup":
            report.topup_count, report.topups = report.topup_count + 1, report.topups + out
        else:
            report.voucher_count, report.vouchers = report.voucher_count + 1, report.vouchers + out
        report.commission += earned
        report.float_debited += out
        tender = s.tender or "float"
        report.by_tender[tender] = report.by_tender.get(tender, 0) + out
    return report
