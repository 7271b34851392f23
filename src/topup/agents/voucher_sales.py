"""Selling a scratch card at the counter or a terminal, paid from the agent's float.

The vouchers area activates the card and moves its face value from the float to the voucher
liability (``topup.vouchers.service.sell``); here the agent earns its tier's voucher
commission and the sale is recorded, in the same unit of work. A card of a batch distributed
to one agent (or to its chain) can be sold only there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from topup.agents.agents import Agent
from topup.agents.commission import pay_commission
from topup.agents.errors import CardOfAnotherAgent
from topup.agents.floats import as_float_insufficient, float_account, float_balance
from topup.agents.tables import agent_sales
from topup.agents.topups import Sale, Seller, begin_sale, get_sale, record_sale
from topup.db.uow import UnitOfWork
from topup.ledger.errors import InsufficientFunds
from topup.money import CurrencyMismatch, Money
from topup.vouchers import service as vouchers
from topup.vouchers.service import VoucherView


@dataclass(frozen=True)
class VoucherSale:
    """The outcome of a voucher sale."""

    sale: Sale
    voucher: VoucherView
    commission: Money
    float_balance: Money


def _check_card(uow: UnitOfWork, agent: Agent, card: VoucherView) -> None:
    if card.face.currency != agent.currency:
        raise CurrencyMismatch(f"this card is in {card.face.currency}; the float holds "
                               f"{agent.currency}")
    owner = vouchers.get_batch(uow, card.batch_id).agent_id
    if owner is not None and owner not in (agent.id, agent.parent_id):
        raise CardOfAnotherAgent(f"card {card.serial} belongs to another agent's stock")


def _earlier(uow: UnitOfWork, agent: Agent, serial: str) -> Sale | None:
    found = uow.conn.execute(select(agent_sales.c.id).where(
        agent_sales.c.voucher_serial == serial, agent_sales.c.agent_id == agent.id)).scalar()
    return get_sale(uow, int(found)) if found is not None else None


def sell_voucher(uow: UnitOfWork, seller: Seller, serial: str) -> VoucherSale:
    """Activate the card with ``serial``, paid from the float, and credit the commission.

    Selling the same card again from the same agent returns the first sale (nothing moves);
    a card sold elsewhere raises VoucherStateConflict; a float too low FloatInsufficient.
    """
    agent = begin_sale(uow, seller)
    card = vouchers.get_voucher(uow, serial)
    key = f"agent:{agent.id}:{card.serial}"
    _check_card(uow, agent, card)
    try:
        sold = vouchers.sell(uow, card.serial, payer_account=float_account(uow, agent),
                             key=key, actor_id=seller.actor_id)
    except InsufficientFunds as exc:
        raise as_float_insufficient(exc) from exc
    ref = f"voucher:{sold.serial}"
    sale = _earlier(uow, agent, sold.serial)
    if sale is None:
        earned = pay_commission(uow, agent, "voucher", sold.face.amount,
                                idempotency_id=f"{key}:commission", ref=ref)
        sale = record_sale(uow, seller, agent, kind="voucher", voucher_serial=sold.serial,
                           amount=sold.face.amount, commission=earned, ledger_ref=ref)
    return VoucherSale(sale, sold, Money(sale.commission, agent.currency),
                       float_balance(uow, agent))
