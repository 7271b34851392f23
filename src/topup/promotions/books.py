"""What campaigns cost, in the ledger: every discount and bonus is a transfer from the
operator's ``promotion_expense``.

An order made at a quoted price holds its campaigns' benefits (``hold``, with the order, in its
transaction). When it is fulfilled (``book``):

- a plan's discounts go to ``deferred_revenue``, beside what was paid: the plan's revenue is
  then its list price, earned when the bucket ends, and the discount is the campaign's cost;
- a top-up's discounts go to the wallet, beside what was paid: the traveller gets the amount
  they asked for;
- a bonus goes to the wallet;
- cashback waits: ``credit_cashback`` (the worker's ``cashback`` job) pays it into the wallet
  once the order has been fulfilled for ``TOPUP_CASHBACK_AFTER_DAYS`` and was not refunded.

An order that fails, is cancelled or expires lets its holds go (``release``). Taking a plan
back returns its discounts from deferred revenue to ``promotion_expense``
(``take_back_plan``); refunding a top-up in full takes its discounts back from the wallet, and
both refunds take back the bonus and any cashback paid, as far as the wallet still holds them
(``take_back_topup``, ``take_back_plan``); cashback not yet paid never will be. Each transfer
is keyed by the order and the campaign: booking twice moves nothing.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from topup.catalog.quotes import Quote
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import DEFERRED_REVENUE, PROMOTION_EXPENSE
from topup.orders.model import Order
from topup.orders.tables import orders
from topup.promotions import points, store
from topup.promotions.tables import campaigns, redemptions


def hold(uow: UnitOfWork, order_id: int, customer_id: int | None, quote: Quote) -> None:
    """Hold what ``quote`` gives order ``order_id`` against its campaigns' limits
    (``PromotionUnavailable`` when one ran out since the quote)."""
    granted = quote.granted()
    if granted:
        store.hold(uow, order_id, customer_id, quote.currency, granted,
                   store.code_id(uow, quote.code))
    if quote.points_used and customer_id is not None:
        points.hold(uow, order_id, customer_id, quote.points_used)


def book(uow: UnitOfWork, order: Order) -> None:
    """The fulfilled order's discounts and credits, from ``promotion_expense``; its holds
    applied."""
    points.earn(uow, order)
    quote = order.price_quote
    if quote is None or not (quote.discounts or quote.credits):
        return
    points.settle(uow, order.id, fulfilled=True)
    mu = ledger.money_unit(order.currency)
    expense = ledger.operator_account(uow, PROMOTION_EXPENSE, mu, line_id=order.line_id)
    wallet = ledger.wallet(uow, order.line_id, order.currency)
    into = ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=order.line_id) \
        if order.kind == "plan" else wallet
    for d in quote.discounts:
        ledger.transfer(uow, f"order:{order.id}:promotion:{d.ref}", expense, into,
                        -d.amount, code="promotion", ref=f"order:{order.id}")
    for c in quote.credits:
        if c.kind == "bonus":
            ledger.transfer(uow, _credit_key(order.id, c.kind, c.ref), expense, wallet,
                            c.amount, code=c.kind, ref=f"order:{order.id}")
    store.settle(uow, order.id, "applied")


def _credit_key(order_id: int, kind: str, ref: str) -> str:
    return f"order:{order_id}:{kind}:{ref}"


def _credited(uow: UnitOfWork, order_id: int, quote: Quote) -> int:
    """What the order's credits have put into the wallet so far (bonus, cashback paid)."""
    return sum(c.amount for c in quote.credits
               if ledger.find_transfer(uow, _credit_key(order_id, c.kind, c.ref)) is not None)


def credit_cashback(uow: UnitOfWork, limit: int = 200) -> int:
    """Pay the cashback due: for orders fulfilled at least ``cashback_after_days`` ago and
    still fulfilled (not refunded), each applied cashback redemption into the order's wallet,
    once. Returns how many were paid."""
    due = uow.now - timedelta(days=uow.settings.cashback_after_days)
    rows = uow.conn.execute(
        select(redemptions.c.id, redemptions.c.order_id, redemptions.c.campaign_id,
               redemptions.c.amount)
        .join(campaigns, campaigns.c.id == redemptions.c.campaign_id)
        .join(orders, orders.c.id == redemptions.c.order_id)
        .where(campaigns.c.kind == "cashback", redemptions.c.state == "applied",
               orders.c.state == "fulfilled", orders.c.fulfilled_at <= due)
        .order_by(redemptions.c.id).limit(limit)).all()
    for r in rows:
        order = Order.of(uow.conn.execute(select(orders).where(
            orders.c.id == r.order_id)).one())
        mu = ledger.money_unit(order.currency)
        ledger.transfer(
            uow, _credit_key(order.id, "cashback", f"campaign:{r.campaign_id}"),
            ledger.operator_account(uow, PROMOTION_EXPENSE, mu, line_id=order.line_id),
            ledger.wallet(uow, order.line_id, order.currency), int(r.amount),
            code="cashback", ref=f"order:{order.id}")
        uow.conn.execute(update(redemptions).where(redemptions.c.id == r.id).values(
            state="credited", updated_at=uow.now))
    return len(rows)


def release(uow: UnitOfWork, order_id: int) -> None:
    """An order given up: its held benefits go back to their campaigns."""
    store.settle(uow, order_id, "released")
    points.settle(uow, order_id, fulfilled=False)


def take_back_plan(uow: UnitOfWork, order: Order) -> None:
    """A plan taken back: its discounts return from deferred revenue (the wallet gets back
    what was paid, no more); its campaigns' counters are given back."""
    points.take_back(uow, order)
    quote = order.price_quote
    if quote is None or not quote.discounts:
        return
    mu = ledger.money_unit(order.currency)
    deferred = ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=order.line_id)
    expense = ledger.operator_account(uow, PROMOTION_EXPENSE, mu, line_id=order.line_id)
    for d in quote.discounts:
        ledger.transfer(uow, f"order:{order.id}:unpromotion:{d.ref}", deferred, expense,
                        -d.amount, code="promotion_reversed", ref=f"order:{order.id}")
    _from_wallet(uow, order, _credited(uow, order.id, quote))
    store.settle(uow, order.id, "reversed")


def take_back_topup(uow: UnitOfWork, order: Order) -> int:
    """A top-up refunded in full: its discounts and bonus leave the wallet, as far as the
    wallet still holds them (what was spent stays spent); returns the minor units taken."""
    points.take_back(uow, order)
    quote = order.price_quote
    if quote is None or not (quote.discounts or quote.credits):
        return 0
    taken = _from_wallet(uow, order, quote.discount_total + _credited(uow, order.id, quote))
    store.settle(uow, order.id, "reversed")
    return taken


def _from_wallet(uow: UnitOfWork, order: Order, amount: int) -> int:
    """Up to ``amount`` of promotions back from the order's wallet, as far as it holds it."""
    wallet = ledger.wallet(uow, order.line_id, order.currency)
    left = max(0, min(amount, ledger.balance(uow, wallet).available))
    if left:
        mu = ledger.money_unit(order.currency)
        ledger.transfer(uow, f"order:{order.id}:unpromotion", wallet,
                        ledger.operator_account(uow, PROMOTION_EXPENSE, mu,
                                                line_id=order.line_id),
                        left, code="promotion_reversed", ref=f"order:{order.id}")
    return left
