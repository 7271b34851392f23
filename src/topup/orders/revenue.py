"""Revenue of plans: deferred when a plan is bought, earned when its bucket ends.

A plan's price (its list price: what was paid and what campaigns took off) waits in
``deferred_revenue`` while the traveller may still use (or, untouched,
return) the plan; when the bucket ends the price moves to ``revenue``, whatever was used. A
plan taken back never reaches revenue: its price went back to the wallet.
"""

from __future__ import annotations

from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import DEFERRED_REVENUE, REVENUE
from topup.orders.service import get_order


def earn(uow: UnitOfWork, order_id: int) -> int:
    """Recognise the plan order's price as revenue (once); returns the minor units earned."""
    order = get_order(uow, order_id)
    if order.kind != "plan" or order.state != "fulfilled":
        return 0
    mu = ledger.money_unit(order.currency)
    # what was paid plus what campaigns took off (promotions.books put both in deferred)
    quote = order.price_quote
    earned = order.amount + (quote.discount_total if quote is not None else 0)
    ledger.transfer(
        uow, f"order:{order.id}:earned",
        ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=order.line_id),
        ledger.operator_account(uow, REVENUE, mu, line_id=order.line_id), earned,
        code="revenue", ref=f"order:{order.id}")
    return earned
