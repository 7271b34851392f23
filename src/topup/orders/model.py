"""The order itself: what it is, the states it moves through, and the events it raises.

Nothing here calls another area. Side effects of an order (its receipt, its confirmations)
are handlers of the events below, published on the unit of work and run by it before COMMIT
(see ``topup.handlers``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update

from topup.catalog.quotes import Quote as PriceQuote
from topup.db.uow import UnitOfWork
from topup.money import Money
from topup.orders.errors import IllegalOrderTransition
from topup.orders.tables import order_events, orders

NEXT: dict[str, frozenset[str]] = {
    "created": frozenset({"awaiting_payment", "paid", "failed", "cancelled"}),
    "awaiting_payment": frozenset({"paid", "failed", "cancelled", "expired"}),
    "paid": frozenset({"fulfilled", "refunded"}),
    "fulfilled": frozenset({"refunded"}),
    "failed": frozenset(), "cancelled": frozenset(), "expired": frozenset(),
    "refunded": frozenset(),
}
LIVE_STATES = ("created", "awaiting_payment", "paid", "fulfilled")


@dataclass(frozen=True)
class Order:
    """An order as callers see it."""

    id: int
    customer_id: int | None
    line_id: int
    kind: str
    plan_id: int | None
    amount: int
    fee: int
    currency: str
    credit_currency: str | None
    credit_amount: int | None
    fx_rate: str | None
    method: str
    channel: str
    state: str
    reason: str | None
    payment_ref: str | None
    next_action: dict[str, Any] | None
    bucket_id: int | None
    renewal: bool
    created_at: datetime
    paid_at: datetime | None
    fulfilled_at: datetime | None
    group_id: int | None = None  # the plan is bought for this group of lines, shared
    quote: dict[str, Any] | None = None  # the price quote confirmed (``PriceQuote.to_json``)

    @classmethod
    def of(cls, row: Any) -> Order:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})

    @property
    def price_quote(self) -> PriceQuote | None:
        """The catalogue's quote this order was confirmed with (None for an order made
        before orders kept their quote)."""
        return PriceQuote.from_json(self.quote) if self.quote else None

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def total(self) -> Money:
        """What the payer pays: the amount plus the fee."""
        return Money(self.amount + self.fee, self.currency)

    @property
    def credited_currency(self) -> str:
        """The wallet's currency the order tells the customer about: the converted one for a
        converted top-up, the order's own otherwise (a plan is paid from that wallet)."""
        return (self.credit_currency or self.currency) if self.kind == "topup" else self.currency


@dataclass(frozen=True)
class OrderRequest:
    """What a channel asks for; becomes an immutable order."""

    kind: str
    method: str
    channel: str
    currency: str | None = None
    amount: int | None = None
    plan_id: int | None = None
    confirm_duplicate: bool = False
    reason: str | None = None
    credit_currency: str | None = None  # top up this wallet, paying in ``currency``
    language: str = "en"  # the payer's, for the provider's page
    save_method: bool = False  # the payer asked to keep the card for auto-renew / top-up
    group_id: int | None = None  # a plan for this group, bought through one of its lines
    code: str | None = None  # a promo code the payer typed
    points: int = 0  # loyalty points the payer wants to spend (promotions/points.py)
    agent_id: int | None = None  # the retail agent selling it (campaigns scoped to agents)


@dataclass(frozen=True)
class Prepaid:
    """Value collected before the order exists that pays it at once: a scratch-card voucher,
    an agent's float. No provider is involved, no duplicate check applies (the source itself
    is spent once) and no fee is charged (the source holds the amount, nothing on top)."""

    account_id: int  # the ledger account the value comes from
    note: str  # on the order's "paid" event: what paid, e.g. "voucher 1000-0001"


@dataclass(frozen=True)
class Quote:
    """What an order would cost, shown before the payer confirms: the catalogue's price
    quote (every line of it) and, for a converted top-up, what the wallet receives."""

    price: PriceQuote
    credit: Money | None = None  # what the wallet receives, when converted
    fx_rate: str | None = None

    @property
    def amount(self) -> Money:
        """What the order buys: the list price less its discounts."""
        return self.price.money(self.price.subtotal)

    @property
    def fee(self) -> Money:
        return self.price.money(self.price.fee_amount)

    @property
    def total(self) -> Money:
        """What the payer pays."""
        return self.price.money(self.price.total)


@dataclass(frozen=True)
class OrderFulfilled:
    """An order was fulfilled (its confirmations follow). ``balance`` and
    ``valid_until`` are the wallet's available balance (in ``order.credited_currency``) and
    the line's validity at that moment: the handlers run at the end of the transaction, after
    whatever else it does to the line (a batch may hold more of its commands)."""

    order: Order
    balance: int
    valid_until: datetime | None


@dataclass(frozen=True)
class PaymentSettled:
    """A provider's payment paid (and fulfilled) an order; ``method_detail`` is what the
    provider said about the method (a card's brand and last four, at most, reach a receipt)."""

    order: Order
    method_detail: str | None


@dataclass(frozen=True)
class OrderClosed:
    """An order was given up before it was paid (failed, cancelled or expired): what it held
    elsewhere (an eSIM profile reserved for it) is let go."""

    order: Order


CLOSED_STATES = ("failed", "cancelled", "expired")


def record_created(uow: UnitOfWork, order_id: int) -> None:
    """The history of a new order: its first event, which the moves of the same unit of work
    then carry forward (``move_order``)."""
    event_id = uow.conn.execute(insert(order_events).values(
        order_id=order_id, at=uow.now, from_state=None, to_state="created"
    ).returning(order_events.c.id)).scalar_one()
    uow.memo[(_OPENED, order_id)] = (int(event_id), None, uow.now)


def move_order(uow: UnitOfWork, order: Order, to: str, note: str | None = None,
               **values: Any) -> Order:
    """Move ``order`` to state ``to`` along ``NEXT`` (else IllegalOrderTransition), setting
    ``values`` and recording the event with ``note``.

    An order created and moved on in the same transaction (a manual credit, a wallet
    purchase, a voucher) keeps one event, from nothing to where that transaction left it,
    with the notes of its steps (the state machine checked each step); a move in a later
    transaction (a payment settling) records an event of its own."""
    if to not in NEXT[order.state]:
        raise IllegalOrderTransition(f"{order.state} -> {to}", order_state=order.state)
    uow.conn.execute(update(orders).where(orders.c.id == order.id).values(
        state=to, updated_at=uow.now, **values))
    opened = uow.memo.get((_OPENED, order.id))
    if isinstance(opened, tuple):
        event_id, noted, at = opened
        notes = "; ".join(n for n in (noted, note) if n) or None
        # by its time too: PostgreSQL looks in that month's partition only
        uow.conn.execute(update(order_events).where(
            order_events.c.id == event_id, order_events.c.at == at).values(
            to_state=to, note=notes))
        uow.memo[(_OPENED, order.id)] = (event_id, notes, at)
    else:
        uow.conn.execute(insert(order_events).values(
            order_id=order.id, at=uow.now, from_state=order.state, to_state=to, note=note))
    moved = replace(order, state=to, **values)
    if to in CLOSED_STATES:
        uow.publish(OrderClosed(moved))
    return moved


_OPENED = "order_event_opened"  # memo key: the event of an order created in this unit
