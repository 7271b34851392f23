"""What campaigns cost, in the ledger: every discount and bonus is a transfer from the
operator's ``promotion_expense``.

An order made at a quoted price holds its campaigns' benefits (``hold``, with the order, in its
transaction). When it is fulfilled (``book``):

- a plan's discounts go to ``deferred_revenue``, beside what was paid: the plan's revenue is
  then its list price, earned when the bucket ends, and the discount is the campaign's cost;
- a top-up's discounts go to the wallet, beside what was paid: the traveller gets the amount
  they asked for;
- a bonus goes to the wallet.

An order that fails, is cancelled or expires lets its holds go (``release``). Taking a plan
back returns its discounts from deferred revenue to ``promotion_expense``
(``take_back_plan``); refunding a top-up in full takes its discounts and bonus back from the
wallet, as far as they are still there (``take_back_topup``). Each transfer is keyed by the
order and the campaign: booking twice moves nothing.
"""

from __future__ import annotations

from topup.catalog.quotes import Quote
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import DEFERRED_REVENUE, PROMOTION_EXPENSE
from topup.orders.model import Order
from topup.promotions import store


def hold(uow: UnitOfWork, order_id: int, customer_id: int | None, quote: Quote) -> None:
    """Hold what ``quote`` gives order ``order_id`` against its campaigns' limits
    (``PromotionUnavailable`` when one ran out since the quote)."""
    granted = quote.granted()
    if granted:
        store.hold(uow, order_id, customer_id, quote.currency, granted,
                   store.code_id(uow, quote.code))


def book(uow: UnitOfWork, order: Order) -> None:
    """The fulfilled order's discounts and credits, from ``promotion_expense``; its holds
    applied."""
    quote = order.price_quote
    if quote is None or not quote.granted():
        return
    mu = ledger.money_unit(order.currency)
    expense = ledger.operator_account(uow, PROMOTION_EXPENSE, mu, line_id=order.line_id)
    wallet = ledger.wallet(uow, order.line_id, order.currency)
    into = ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=order.line_id) \
        if order.kind == "plan" else wallet
    for d in quote.discounts:
        ledger.transfer(uow, f"order:{order.id}:promotion:{d.ref}", expense, into,
                        -d.amount, code="promotion", ref=f"order:{order.id}")
    for c in quote.credits:
        ledger.transfer(uow, f"order:{order.id}:{c.kind}:{c.ref}", expense, wallet, c.amount,
                        code=c.kind, ref=f"order:{order.id}")
    store.settle(uow, order.id, "applied")


def release(uow: UnitOfWork, order_id: int) -> None:
    """An order given up: its held benefits go back to their campaigns."""
    store.settle(uow, order_id, "released")


def take_back_plan(uow: UnitOfWork, order: Order) -> None:
    """A plan taken back: its discounts return from deferred revenue (the wallet gets back
    what was paid, no more); its campaigns' counters are given back."""
    quote = order.price_quote
    if quote is None or not quote.granted():
        return
    mu = ledger.money_unit(order.currency)
    deferred = ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=order.line_id)
    expense = ledger.operator_account(uow, PROMOTION_EXPENSE, mu, line_id=order.line_id)
    for d in quote.discounts:
        ledger.transfer(uow, f"order:{order.id}:unpromotion:{d.ref}", deferred, expense,
                        -d.amount, code="promotion_reversed", ref=f"order:{order.id}")
    store.settle(uow, order.id, "reversed")


def take_back_topup(uow: UnitOfWork, order: Order) -> int:
    """A top-up refunded in full: its discounts and bonus leave the wallet, as far as the
    wallet still holds them (what was spent stays spent); returns the minor units taken."""
    quote = order.price_quote
    if quote is None or not quote.granted():
        return 0
    wallet = ledger.wallet(uow, order.line_id, order.currency)
    left = max(0, min(quote.discount_total + quote.credit_total,
                      ledger.balance(uow, wallet).available))
    if left:
        mu = ledger.money_unit(order.currency)
        ledger.transfer(uow, f"order:{order.id}:unpromotion", wallet,
                        ledger.operator_account(uow, PROMOTION_EXPENSE, mu,
                                                line_id=order.line_id),
                        left, code="promotion_reversed", ref=f"order:{order.id}")
    store.settle(uow, order.id, "reversed")
    return left
