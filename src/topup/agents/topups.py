"""Direct electronic top-up of a line at an agent's counter or terminal, paid from the float.

The sale is an ordinary order (``method="agent"``, channel ``pos`` or ``kiosk``) paid at once by
the float as a prepaid source, so it follows the one order path: exactly once, history, the
line's validity. In the same unit of work the agent earns its commission and the sale is
recorded (with the buyer's ID where KYC applies). A float too low raises FloatInsufficient
and the whole unit rolls back: no order, no movement.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from topup.agents import kyc
from topup.agents.agents import Agent, ensure_active, get_agent
from topup.agents.commission import pay_commission
from topup.agents.errors import InvalidAgent
from topup.agents.floats import as_float_insufficient, float_account, float_balance
from topup.agents.tables import TENDERS, agent_sales
from topup.db.uow import UnitOfWork
from topup.ledger.errors import InsufficientFunds
from topup.money import Money
from topup.orders.model import Order, OrderRequest, Prepaid
from topup.orders.service import create_order
from topup.subscribers import lines as line_svc
from topup.subscribers.identity import looks_like_iccid, msisdn_digits, normalise_iccid
from topup.subscribers.lines import Line


@dataclass(frozen=True)
class Seller:
    """Who sells: the agent, the acting login (staff or terminal), and the terminal if any."""

    agent_id: int
    actor_id: int
    terminal_id: int | None = None
    tender: str | None = None  # cash or card, when a terminal took the buyer's money

    @property
    def channel(self) -> str:
        return "kiosk" if self.terminal_id is not None else "pos"


@dataclass(frozen=True)
class Sale:
    """One recorded sale (a top-up or a voucher) as reports and receipts show it."""

    id: int
    agent_id: int
    terminal_id: int | None
    actor_id: int
    kind: str
    order_id: int | None
    voucher_serial: str | None
    line_id: int | None
    amount: int
    currency: str
    commission: int
    tender: str | None
    ledger_ref: str
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> Sale:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class TopupSale:
    """The outcome of a top-up sale."""

    sale: Sale
    order: Order
    line: Line
    commission: Money
    float_balance: Money
    kyc: kyc.KycEntry | None


def find_target(identifier: str, *, msisdn_only: bool = False) -> str:
    """The normalised ICCID or MSISDN typed at the counter (terminals take MSISDNs only)."""
    if not msisdn_only and looks_like_iccid(identifier):
        return normalise_iccid(identifier)
    return msisdn_digits(identifier)


def begin_sale(uow: UnitOfWork, seller: Seller) -> Agent:
    """Lock the seller's agent (its sales queue one behind another) and check it may sell."""
    if seller.tender is not None and seller.tender not in TENDERS:
        raise InvalidAgent(f"tender is one of {', '.join(TENDERS)}", field="tender")
    agent = get_agent(uow, seller.agent_id, lock=True)
    ensure_active(uow, agent)
    return agent


def record_sale(uow: UnitOfWork, seller: Seller, agent: Agent, **values: Any) -> Sale:
    """Insert the sale row (one per order, one per voucher serial)."""
    new_id = uow.conn.execute(insert(agent_sales).values(
        agent_id=agent.id, terminal_id=seller.terminal_id, actor_id=seller.actor_id,
        currency=agent.currency, tender=seller.tender, created_at=uow.now, **values,
    ).returning(agent_sales.c.id)).scalar_one()
    return get_sale(uow, int(new_id))


def get_sale(uow: UnitOfWork, sale_id: int) -> Sale:
    """One sale by id."""
    return Sale.of(uow.conn.execute(select(agent_sales).where(agent_sales.c.id == sale_id)).one())


def find_sale(uow: UnitOfWork, sale_id: int) -> Sale | None:
    """One sale by id, or None when there is none."""
    row = uow.conn.execute(select(agent_sales).where(agent_sales.c.id == sale_id)).first()
    return Sale.of(row) if row is not None else None


def sell_topup(uow: UnitOfWork, seller: Seller, identifier: str, amount: int, *,
               kyc_given: kyc.KycInput | None = None, msisdn_only: bool = False) -> TopupSale:
    """Top up the line named by ICCID or MSISDN with ``amount`` minor units of the agent's
    currency, paid from the float (a line in another currency receives the converted value).

    Raises LineNotFound, KycRequired/InvalidKyc, TopupOutOfLimits, LineNotUsable,
    AgentSuspended, or FloatInsufficient; in every case nothing has moved.
    """
    agent = begin_sale(uow, seller)
    line = line_svc.find_line(uow, find_target(identifier, msisdn_only=msisdn_only))
    entry = kyc.check(uow, agent, line, kyc_given)
    converts = line.currency != agent.currency
    req = OrderRequest(kind="topup", method="agent", channel=seller.channel,
                       currency=agent.currency, amount=amount, agent_id=agent.id,
                       credit_currency=line.currency if converts else None)
    prepaid = Prepaid(account_id=float_account(uow, agent), note=f"agent {agent.id}")
    try:
        order = create_order(uow, seller.actor_id, line, req, prepaid=prepaid)
    except InsufficientFunds as exc:
        raise as_float_insufficient(exc) from exc
    ref = f"order:{order.id}"
    earned = pay_commission(uow, agent, "topup", order.amount,
                            idempotency_id=f"{ref}:commission", ref=ref, line_id=line.id)
    sale = record_sale(uow, seller, agent, kind="topup", order_id=order.id, line_id=line.id,
                       amount=order.amount, commission=earned, ledger_ref=ref)
    if entry is not None:
        kyc.record(uow, sale.id, agent, line, entry)
    return TopupSale(sale, order, line, Money(earned, agent.currency),
                     float_balance(uow, agent), entry)


def sales_of(uow: UnitOfWork, agent_id: int, *, start: datetime, end: datetime,
             terminal_id: int | None = None) -> list[Sale]:
    """An agent's (or one terminal's) sales made in ``[start, end)``, oldest first."""
    cond = (agent_sales.c.agent_id == agent_id) & (agent_sales.c.created_at >= start) & (
        agent_sales.c.created_at < end)
    if terminal_id is not None:
        cond = cond & (agent_sales.c.terminal_id == terminal_id)
    rows = uow.conn.execute(select(agent_sales).where(cond).order_by(agent_sales.c.id))
    return [Sale.of(r) for r in rows]
