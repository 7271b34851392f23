"""The agent's prepaid float: one no-overdraft ledger account per agent and currency.

The operator funds a float when the agent has paid (by bank, in cash at the office):
``op:agent_float_sales:<unit>`` (what agents owe or paid for float) -> the float. Sales draw
the float down; the ledger refuses any debit that would take it below zero, so the float can
never go negative, whatever races.
"""

from __future__ import annotations

from dataclasses import dataclass

from topup.agents.agents import Agent, get_agent
from topup.agents.errors import FloatFundingConflict, FloatInsufficient, InvalidAgent
from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import AGENT_FLOAT, AGENT_FLOAT_SALES
from topup.ledger.errors import InsufficientFunds, TransferIdempotencyConflict
from topup.money import MAX_AMOUNT, Money

MAX_KEY = 100


def float_key(agent: Agent) -> str:
    """The ledger key of the agent's float account."""
    return f"agent:{agent.id}:float:{ledger.money_unit(agent.currency)}"


def float_account(uow: UnitOfWork, agent: Agent) -> int:
    """The id of the agent's float account in its currency (opened on first use)."""
    unit = ledger.money_unit(agent.currency)
    return ledger.open_account(uow, float_key(agent), unit, AGENT_FLOAT)


def float_account_id(uow: UnitOfWork, agent: Agent) -> int | None:
    """The id of the agent's float account, None if it was never opened (reads only:
    statements may run on a replica)."""
    return ledger.find_account(uow, float_key(agent))


def float_balance(uow: UnitOfWork, agent: Agent) -> Money:
    """What the float holds and may spend (pending reservations already taken off)."""
    return Money(ledger.balance(uow, float_account(uow, agent)).available, agent.currency)


@dataclass(frozen=True)
class Funding:
    """A float funding as recorded in the ledger."""

    agent_id: int
    transfer_id: int
    amount: Money
    balance: Money
    replayed: bool


def funding_transfer_id(agent_id: int, key: str) -> str:
    """The ledger idempotency id of a funding: the same key funds once."""
    return f"agent:{agent_id}:fund:{key}"


def fund_float(uow: UnitOfWork, agent_id: int, amount: int, *, key: str, reason: str,
               actor_id: int | None) -> Funding:
    """Credit the agent's float with ``amount`` minor units of its currency.

    ``key`` makes the funding idempotent: a retry with the same key and amount returns the
    first funding and moves nothing; another amount raises FloatFundingConflict. Audited.
    """
    key = key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidAgent(f"a funding key has 1 to {MAX_KEY} characters", field="key")
    if not reason.strip():
        raise InvalidAgent("a reason is required to fund a float", field="reason")
    if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidAgent(f"the amount is 1 to {MAX_AMOUNT} minor units", field="amount")
    agent = get_agent(uow, agent_id, lock=True)  # later fundings with this key queue here
    idem = funding_transfer_id(agent.id, key)
    acct = float_account(uow, agent)
    # A suspended agent may still pay what it owes: funding records money received.
    earlier = ledger.find_transfer(uow, idem)
    unit = ledger.money_unit(agent.currency)
    source = ledger.operator_account(uow, AGENT_FLOAT_SALES, unit)
    try:
        made = ledger.transfer(uow, idem, source, acct, amount, code="agent_float_fund",
                               ref=f"agent:{agent.id}")
    except TransferIdempotencyConflict as exc:
        raise FloatFundingConflict(f"funding key {key!r} was used for another amount") from exc
    if earlier is None:
        audit(uow, actor_id, "agent.float_fund", f"agent:{agent.id}", reason=reason.strip(),
              amount=amount, currency=agent.currency, key=key, transfer_id=made.id)
    return Funding(agent.id, made.id, Money(amount, agent.currency),
                   float_balance(uow, agent), earlier is not None)


def debit_float(uow: UnitOfWork, agent: Agent, idempotency_id: str, credit_account: int,
                amount: int, *, code: str, ref: str) -> ledger.Transfer:
    """Move value out of the float; FloatInsufficient (nothing moved) when it is too low."""
    try:
        return ledger.transfer(uow, idempotency_id, float_account(uow, agent), credit_account,
                               amount, code=code, ref=ref)
    except InsufficientFunds as exc:
        raise as_float_insufficient(exc) from exc


def as_float_insufficient(exc: InsufficientFunds) -> FloatInsufficient:
    """The ledger's refusal said in the agent's words."""
    return FloatInsufficient("the float holds less than this sale needs; fund it first",
                             available=exc.extra.get("available"),
                             needed=exc.extra.get("needed"))
