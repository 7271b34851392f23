"""Proof that the books balance, derived from the immutable transfers alone.

``check_books`` recomputes every account's posted and pending totals from ``ledger_transfers``
and compares them with the cached columns, checks that each unit sums to zero, that no
no-overdraft account is below zero, that no pending transfer is over-posted, and that every
account's kind is in the chart of accounts with the overdraft rule the chart gives it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.engine import Connection, Row

from topup.ledger import accounts as chart
from topup.ledger.errors import ChartError, UnknownAccountKind
from topup.ledger.tables import accounts, transfers


@dataclass(frozen=True)
class Problem:
    """One violated invariant, in words an operator can act on."""

    what: str
    detail: str


def _derived(conn: Connection) -> dict[int, dict[str, int]]:
    t = transfers
    posted_kinds = ("posted", "post_pending")
    resolved = select(t.c.pending_id).where(t.c.pending_id.is_not(None)).scalar_subquery()
    open_pending = (t.c.kind == "pending") & t.c.id.not_in(resolved)
    posted_amt = case((t.c.kind.in_(posted_kinds), t.c.amount), else_=literal(0))
    pending_amt = case((open_pending, t.c.amount), else_=literal(0))
    debit_side = select(
        t.c.debit_account_id.label("acct"), posted_amt.label("dp"), literal(0).label("cp"),
        pending_amt.label("dpe"), literal(0).label("cpe"),
    )
    credit_side = select(
        t.c.credit_account_id.label("acct"), literal(0).label("dp"), posted_amt.label("cp"),
        literal(0).label("dpe"), pending_amt.label("cpe"),
    )
    both = union_all(debit_side, credit_side).subquery()
    rows = conn.execute(
        select(both.c.acct, func.sum(both.c.dp), func.sum(both.c.cp), func.sum(both.c.dpe),
               func.sum(both.c.cpe)).group_by(both.c.acct)
    )
    return {
        int(r[0]): {"debits_posted": int(r[1]), "credits_posted": int(r[2]),
                    "debits_pending": int(r[3]), "credits_pending": int(r[4])}
        for r in rows
    }


def _chart_problems(a: Row) -> list[Problem]:
    """An account whose kind the chart does not know, or whose overdraft rule differs."""
    try:
        chart.no_overdraft(a.kind, bool(a.no_overdraft))
    except ChartError as exc:
        what = "account kind not in the chart" if isinstance(exc, UnknownAccountKind) \
            else "account against its chart entry"
        return [Problem(what, f"account {a.id} ({a.key}): {exc}")]
    return []


def check_books(conn: Connection) -> list[Problem]:
    """Every violated invariant of the ledger; an empty list means the books balance."""
    problems: list[Problem] = []
    derived = _derived(conn)
    zero = {"debits_posted": 0, "credits_posted": 0, "debits_pending": 0, "credits_pending": 0}
    totals: dict[str, list[int]] = {}
    for a in conn.execute(select(accounts)):
        want = derived.get(a.id, zero)
        for col, value in want.items():
            if getattr(a, col) != value:
                problems.append(Problem(
                    "cached balance differs from transfers",
                    f"account {a.id} ({a.key}) {col}: cached {getattr(a, col)}, derived {value}",
                ))
        problems.extend(_chart_problems(a))
        if a.no_overdraft and a.credits_posted - a.debits_posted - a.debits_pending < 0:
            problems.append(Problem("overdraft", f"account {a.id} ({a.key}) is below zero"))
        tot = totals.setdefault(a.unit, [0, 0])
        tot[0] += a.credits_posted - a.debits_posted
        tot[1] += a.credits_pending - a.debits_pending
    for unit, (posted, pending) in sorted(totals.items()):
        if posted or pending:
            problems.append(Problem(
                "unit does not sum to zero", f"{unit}: posted {posted}, pending {pending}"
            ))
    p = transfers.alias("p")
    over = conn.execute(
        select(transfers.c.id).join(p, transfers.c.pending_id == p.c.id)
        .where((transfers.c.amount > p.c.amount) | (transfers.c.unit != p.c.unit))
    ).scalars().all()
    problems.extend(Problem("over-posted pending transfer", f"transfer {i}") for i in over)
    return problems
