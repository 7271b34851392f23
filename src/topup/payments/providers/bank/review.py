"""The review queue: bank payments that were not credited automatically, for finance.

Reasons: ``partial`` (less than the order), ``overpaid`` (more), ``duplicate`` (the order was
paid already), ``currency_mismatch``, ``unmatched`` (no order found), ``order_not_awaiting``
(the order was cancelled, failed or expired). Finance resolves each item once:

- ``credit_order`` settles an order with the payment — only when the payment is exactly the
  amount and currency of a bank order that still awaits payment (finance may name that order,
  e.g. for an unmatched payment whose reference had a typo);
- ``credit_wallet`` tops up a line's wallet with the whole payment, in its currency (the line
  of the item's order, or one finance names — the payer wrote a phone number instead of the
  reference, paid twice, paid more…). It is a top-up order paid from ``clearing:bank``, so it
  shows in the line's history and extends its validity like any top-up; limits apply;
- ``dismiss`` closes the item after finance handled the money outside topup (paid it back,
  asked for the rest, credited a wallet by a manual order…); the note says what was done.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy import select, update

from topup.audit.service import record as audit
from topup.db.uow import Database, UnitOfWork
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.ledger.accounts import clearing_kind
from topup.money import Money
from topup.orders.errors import OrderNotFound
from topup.orders.model import Order, OrderRequest, Prepaid
from topup.orders.service import create_order, get_order
from topup.orders.tables import orders
from topup.payments.providers.bank.errors import ReviewItemNotFound, ReviewNotResolvable
from topup.payments.providers.bank.importer import credit, mismatch_reason, provider_ref
from topup.payments.providers.bank.tables import bank_review_items as items
from topup.payments.providers.bank.tables import bank_statement_entries as entries
from topup.subscribers import lines

ACTIONS = ("credit_order", "credit_wallet", "dismiss")


@dataclass(frozen=True)
class ReviewItem:
    """A payment waiting for (or resolved by) finance, with what the bank said about it."""

    id: int
    reason: str
    detail: str
    state: str  # "open" | "credited" | "dismissed"
    order_id: int | None
    created_at: datetime
    resolved_by: int | None
    resolved_at: datetime | None
    note: str | None
    entry_id: int
    entry_ref: str
    booking_date: date | None
    amount: int
    currency: str
    reference: str | None
    remittance: str | None
    payer_name: str | None

    @classmethod
    def of(cls, row: Any) -> ReviewItem:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})

    @property
    def money(self) -> Money:
        return Money(self.amount, self.currency)


def _query() -> Any:
    return select(
        items.c.id, items.c.reason, items.c.detail, items.c.state, items.c.order_id,
        items.c.created_at, items.c.resolved_by, items.c.resolved_at, items.c.note,
        items.c.entry_id, entries.c.entry_ref, entries.c.booking_date, entries.c.amount,
        entries.c.currency, entries.c.reference, entries.c.remittance, entries.c.payer_name,
    ).join(entries, entries.c.id == items.c.entry_id)


def review_queue(db: Database, *, state: str = "open", limit: int = 500) -> list[ReviewItem]:
    """Items in ``state`` (open by default), oldest first."""
    with db.unit(readonly=True) as uow:
        rows = uow.conn.execute(_query().where(items.c.state == state)
                                .order_by(items.c.id).limit(limit))
        return [ReviewItem.of(r) for r in rows]


def get_review_item(uow: UnitOfWork, item_id: int) -> ReviewItem:
    """One item, open or resolved."""
    row = uow.conn.execute(_query().where(items.c.id == item_id)).first()
    if row is None:
        raise ReviewItemNotFound(f"no bank review item {item_id}")
    return ReviewItem.of(row)


def resolve_review(db: Database, item_id: int, action: str, actor_id: int, note: str, *,
                   order_id: int | None = None, line: str | None = None) -> ReviewItem:
    """Close an open item by ``credit_order``, ``credit_wallet`` or ``dismiss``; records who
    did it and why.

    ``order_id`` names the order to credit when the item has none (or another one); ``line``
    (ICCID or MSISDN) the line whose wallet to credit. Raises ReviewNotResolvable when the
    item is resolved already or the action does not fit it.
    """
    if action not in ACTIONS:
        raise InvalidInput(f"action is one of {', '.join(ACTIONS)}", field="action")
    if not (note or "").strip():
        raise InvalidInput("say what was done in a note", field="note")
    return db.transact(partial(_resolve, item_id, action, actor_id, note, order_id, line),
                       what=f"bank review {action}")


def _resolve(item_id: int, action: str, actor_id: int, note: str, order_id: int | None,
             line: str | None, uow: UnitOfWork) -> ReviewItem:
    """``resolve``'s one transaction: database writes only (run again after a conflict)."""
    item = _lock_open(uow, item_id)
    target = None
    if action == "credit_order":
        target = _creditable(uow, item, order_id or item.order_id)
        credit(uow, target, item.money)
        ref = provider_ref(target)
    elif action == "credit_wallet":
        target = _credit_wallet(uow, item, actor_id, note.strip(), line)
        ref = f"order:{target.id}"
    if target is not None:
        uow.conn.execute(update(entries).where(entries.c.id == item.entry_id).values(
            outcome="credited", matched_by="finance", order_id=target.id, order_ref=ref))
    uow.conn.execute(update(items).where(items.c.id == item.id).values(
        state="credited" if target else "dismissed", resolved_by=actor_id,
        resolved_at=uow.now, note=note.strip()[:500],
        order_id=target.id if target else item.order_id))
    audit(uow, actor_id, f"bank.review.{action}", f"bank_review:{item.id}",
          reason=note.strip()[:500], entry_ref=item.entry_ref,
          order_id=target.id if target else item.order_id)
    return get_review_item(uow, item.id)


def _credit_wallet(uow: UnitOfWork, item: ReviewItem, actor_id: int, note: str,
                   line: str | None) -> Order:
    """A top-up of the whole payment, paid from the bank clearing account."""
    if line:
        target = lines.find_line(uow, line)
    elif item.order_id is not None:
        target = lines.get_line(uow, get_order(uow, item.order_id).line_id)
    else:
        raise ReviewNotResolvable("no line is known for this payment; name the line to credit")
    clearing = ledger.operator_account(uow, clearing_kind("bank"), ledger.money_unit(item.currency),
                                       line_id=target.id)
    return create_order(uow, actor_id, target, OrderRequest(
        kind="topup", method="bank", channel="finance", currency=item.currency,
        amount=item.amount, reason=note[:500],
        # money in another currency reaches the line converted at the operator's rate
        credit_currency=target.currency if target.currency != item.currency else None),
        prepaid=Prepaid(clearing, f"bank entry {item.entry_ref}"))


def _lock_open(uow: UnitOfWork, item_id: int) -> ReviewItem:
    state = uow.conn.execute(select(items.c.state).where(items.c.id == item_id)
                             .with_for_update()).scalar()
    if state is None:
        raise ReviewItemNotFound(f"no bank review item {item_id}")
    if state != "open":
        raise ReviewNotResolvable(f"bank review item {item_id} is already {state}")
    return get_review_item(uow, item_id)


def _creditable(uow: UnitOfWork, item: ReviewItem, order_id: int | None) -> Order:
    """The order the item's payment may settle, row-locked; else ReviewNotResolvable."""
    if order_id is None:
        raise ReviewNotResolvable("no order is known for this payment; name the order to credit")
    try:
        uow.conn.execute(select(orders.c.id).where(orders.c.id == order_id).with_for_update())
        order = get_order(uow, order_id)
    except OrderNotFound:
        raise ReviewNotResolvable(f"there is no order {order_id}") from None
    if not (order.payment_ref or "").startswith("bank:"):
        raise ReviewNotResolvable(f"order {order_id} is not paid by bank transfer")
    reason = mismatch_reason(order, item.money)
    if reason is not None:
        raise ReviewNotResolvable(
            f"only a payment of exactly the amount of an order awaiting payment can be "
            f"credited: order {order_id} is {order.state} for {order.total}, the payment is "
            f"{item.money} ({reason}); dismiss the item and settle the money by hand")
    return order
