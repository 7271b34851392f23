"""``topup agents``: commission tiers, agents, staff logins, float funding, terminals (their
secret printed once) and daily statements.

Every command exits non-zero with one line on stderr when its input is refused.
"""

from __future__ import annotations

from datetime import date

import typer
from rich.table import Table

from topup.cli.common import AS_HELP, err, fail, out, run
from topup.db.uow import UnitOfWork
from topup.money import Money

agents_app = typer.Typer(help="Retail agents, their floats and terminals", no_args_is_help=True)
def actor(uow: UnitOfWork, login: str | None) -> int | None:
    """The id of the admin acting (None when not given)."""
    from topup.subscribers.auth import find_by_login

    if login is None:
        return None
    row = find_by_login(uow, login)
    if row is None or row.role != "admin":
        raise fail(f"{login} is not an admin login")
    return int(row.id)


@agents_app.command("tier")
def tier(code: str, name: str = typer.Option(..., help="Shown to staff"),
         topup_bp: int = typer.Option(..., help="Basis points of each top-up (150 = 1.5 %)"),
         voucher_bp: int = typer.Option(0, help="Basis points of each voucher sale"),
         staff: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Create or change a commission tier."""
    from topup.agents.agents import set_tier

    made = run(lambda uow: set_tier(uow, code, name, topup_bp, voucher_bp,
                                    actor_id=actor(uow, staff)))
    out.print(f"tier {made.code}: top-ups {made.topup_bp} bp, vouchers {made.voucher_bp} bp")


@agents_app.command("create")
def create(name: str = typer.Option(...),
           kind: str = typer.Option(..., help="chain, store, dealer, post_office or "
                                    "kiosk_operator"),
           tier_code: str = typer.Option(..., "--tier", help="Commission tier code"),
           country: str = typer.Option(..., help="ISO 3166 alpha-2"),
           currency: str = typer.Option(..., help="The float's currency"),
           parent: int = typer.Option(None, help="The chain a store belongs to"),
           staff: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Add an agent."""
    from topup.agents.agents import AgentSpec, create_agent

    spec = AgentSpec(kind=kind, name=name, tier=tier_code, country=country, currency=currency,
                     parent_id=parent)
    made = run(lambda uow: create_agent(uow, spec, actor_id=actor(uow, staff)))
    out.print(f"created {made.kind} {made.name} (agent {made.id})")


@agents_app.command("list")
def list_agents() -> None:
    """Show every agent with its float."""
    from topup.agents.agents import list_agents as all_agents
    from topup.agents.floats import float_balance

    rows = run(lambda uow: [(a, float_balance(uow, a)) for a in all_agents(uow)])
    table = Table(title=f"{len(rows)} agents")
    for col in ("id", "kind", "name", "parent", "tier", "country", "state", "float"):
        table.add_column(col)
    for a, bal in rows:
        table.add_row(str(a.id), a.kind, a.name, str(a.parent_id or "-"), a.tier, a.country,
                      a.state, str(bal))
    out.print(table)


@agents_app.command("add-staff")
def add_staff(agent_id: int, email: str,
              password: str = typer.Option(..., prompt=True, hide_input=True,
                                           confirmation_prompt=True),
              staff: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Create a staff login (role agent) for an agent's POS."""
    from topup.agents.agents import add_staff as add

    user = run(lambda uow: add(uow, agent_id, email=email, password=password,
                               actor_id=actor(uow, staff)))
    out.print(f"created agent staff {user.email} (user {user.id}) for agent {agent_id}")


@agents_app.command("fund")
def fund(agent_id: int, amount: str = typer.Argument(..., help="Decimal, e.g. 5000.00"),
         reference: str = typer.Option(..., help="The agent's payment reference; one "
                                       "reference funds once"),
         reason: str = typer.Option(..., help="Why, for the audit log"),
         staff: str = typer.Option(..., "--as", help=AS_HELP)) -> None:
    """Credit an agent's float after it paid the operator."""
    from topup.agents.agents import get_agent
    from topup.agents.floats import fund_float

    def work(uow: UnitOfWork) -> str:
        agent = get_agent(uow, agent_id)
        money = Money.parse(amount, agent.currency)
        done = fund_float(uow, agent_id, money.amount, key=reference, reason=reason,
                          actor_id=actor(uow, staff))
        what = "already funded by this reference" if done.replayed else f"funded {done.amount}"
        return f"agent {agent_id}: {what}; float {done.balance}"

    out.print(run(work))


@agents_app.command("terminal")
def terminal(agent_id: int, label: str = typer.Option(..., help="Where it stands"),
             staff: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Register a terminal and print its credentials: the secret is shown this once."""
    from topup.agents.terminals import create_terminal

    made = run(lambda uow: create_terminal(uow, agent_id, label, actor_id=actor(uow, staff)))
    out.print(f"terminal {made.terminal.id} for agent {agent_id}")
    out.print(f"key id: {made.terminal.key_id}", markup=False, highlight=False)
    out.print(f"secret: {made.secret}", markup=False, highlight=False)
    err.print("store the secret in the terminal now: it cannot be shown again", markup=False)


@agents_app.command("statement")
def statement(agent_id: int, day: str = typer.Option(None, "--date", help="YYYY-MM-DD, UTC "
                                                     "(default: today)")) -> None:
    """Print an agent's daily float statement."""
    from topup.agents.statements import daily_statement

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise fail(f"not a date: {day}") from None
    st = run(lambda uow: daily_statement(uow, agent_id, when or uow.now.date()))

    def m(v: int) -> str:
        return str(Money(v, st.currency))

    table = Table(title=f"Agent {st.agent_id} float statement {st.day} (UTC)")
    table.add_column("")
    table.add_column("amount", justify="right")
    for label, value in (("opening", m(st.opening)),
                         (f"float funded ({st.fundings})", m(st.funded)),
                         (f"top-ups ({st.topup_count})", m(-st.topups)),
                         (f"vouchers ({st.voucher_count})", m(-st.vouchers)),
                         ("commission", m(st.commission)), ("other in", m(st.other_in)),
                         ("other out", m(-st.other_out)), ("closing", m(st.closing))):
        table.add_row(label, value)
    out.print(table)
    if not st.reconciles:
        raise fail("the statement does not reconcile; run 'topup ledger check'")
