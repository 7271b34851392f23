"""Agent commission: a tier's basis points of each sale, paid into the agent's float.

Commission is credited to the float rather than to a separate account, as most operators do:
the agent can sell it on at once, and one balance tells the agent what it holds. It comes
from the operator's ``op:commission_expense:<unit>`` account, in the same unit of work as the
sale, under an idempotency id derived from the sale, so a retried sale never pays it twice.
"""

from __future__ import annotations

from topup.agents.agents import Agent, get_tier
from topup.agents.floats import float_account
from topup.agents.tables import MAX_BP
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import COMMISSION_EXPENSE

CODE = "agent_commission"


def commission_of(amount: int, bp: int) -> int:
    """``bp`` basis points of ``amount`` minor units, rounded down to a whole minor unit."""
    if amount < 0 or not 0 <= bp <= MAX_BP:
        raise ValueError("commission needs a non-negative amount and 0..10000 basis points")
    return amount * bp // MAX_BP


def rate_for(uow: UnitOfWork, agent: Agent, kind: str) -> int:
    """The agent's tier rate in basis points for a ``topup`` or ``voucher`` sale."""
    tier = get_tier(uow, agent.tier)
    return tier.topup_bp if kind == "topup" else tier.voucher_bp


def pay_commission(uow: UnitOfWork, agent: Agent, kind: str, base: int, *,
                   idempotency_id: str, ref: str, line_id: int | None = None) -> int:
    """Credit the float with the commission on a sale of ``base`` minor units; returns it.

    ``line_id`` shards the operator's expense account like every per-line movement, so
    agents selling to different lines do not queue on one expense row.
    """
    amount = commission_of(base, rate_for(uow, agent, kind))
    if amount == 0:
        return 0
    unit = ledger.money_unit(agent.currency)
    expense = ledger.operator_account(uow, COMMISSION_EXPENSE, unit, line_id=line_id)
    ledger.transfer(uow, idempotency_id, expense, float_account(uow, agent), amount,
                    code=CODE, ref=ref)
    return amount
