"""Loyalty points (积分): earned on what travellers pay, spent as part payment, expiring
after a year without use.

Points are ledger units (``points``) in a traveller's own account (``customer:<id>:points``,
kind ``points``), the other side of each movement the operator's ``points_liability``:

- **earned** when an order paid through a provider (card, PayPal, Alipay, WeChat Pay, bank)
  is fulfilled: one point per ``TOPUP_POINTS_EARN_PER`` minor units of its amount (not its
  fee; money spent from the wallet earned its points when it was paid in);
- **spent** as part payment: an order asks to use some (``OrderRequest.points``); the price
  service takes at most ``TOPUP_POINTS_MAX_SHARE_BP`` of the order's price, each point worth
  ``TOPUP_POINTS_WORTH`` minor units of the order's currency, as a discount line ``points``.
  The points are held (a pending transfer) when the order is made, posted when it is
  fulfilled, released when it is given up; the money they pay is the operator's promotion
  expense (``promotions.books``);
- **returned** by a refund: the points an order spent come back, the points it earned go,
  as far as the traveller still has them;
- **expired**: all of a traveller's points, ``TOPUP_POINTS_EXPIRE_DAYS`` after they last
  earned or spent any (the worker's ``points_expiry`` job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select

from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import POINTS, POINTS_LIABILITY
from topup.ledger.service import POINTS as UNIT
from topup.ledger.tables import accounts, transfers
from topup.promotions.rules import Points

if TYPE_CHECKING:  # the orders area prices through here: its model is read, not imported
    from topup.orders.model import Order

PAID_OUTSIDE = frozenset({"wallet", "manual", "voucher", "agent"})  # earn nothing


@dataclass(frozen=True)
class Standing:
    """A traveller's points: ``balance`` (spendable now), ``held`` (by unpaid orders) and
    when they expire if unused (None: no points)."""

    balance: int
    held: int
    expires_at: datetime | None


def programme(uow: UnitOfWork) -> Points | None:
    """The points programme as the engine applies it (None: switched off)."""
    s = uow.settings
    if s.points_earn_per <= 0 or s.points_worth <= 0:
        return None
    return Points(earn_per=s.points_earn_per, worth=s.points_worth,
                  max_share_bp=s.points_max_share_bp)


def _key(customer_id: int) -> str:
    return f"customer:{customer_id}:points"


def account(uow: UnitOfWork, customer_id: int) -> int:
    return ledger.open_account(uow, _key(customer_id), UNIT, POINTS)


def _liability(uow: UnitOfWork) -> int:
    return ledger.operator_account(uow, POINTS_LIABILITY, UNIT)


def standing(uow: UnitOfWork, customer_id: int) -> Standing:
    """The traveller's points now (read only: no account is opened)."""
    row = uow.conn.execute(select(accounts).where(accounts.c.key == _key(customer_id))).first()
    if row is None:
        return Standing(0, 0, None)
    balance = int(row.credits_posted - row.debits_posted - row.debits_pending)
    last = _last_use(uow, int(row.id))
    expires = last + timedelta(days=uow.settings.points_expire_days) \
        if last is not None and balance > 0 else None
    return Standing(balance, int(row.debits_pending), expires)


def _last_use(uow: UnitOfWork, account_id: int) -> datetime | None:
    found = uow.conn.execute(select(func.max(transfers.c.created_at)).where(or_(
        transfers.c.debit_account_id == account_id,
        transfers.c.credit_account_id == account_id))).scalar()
    return found if isinstance(found, datetime) else None


def spendable(uow: UnitOfWork, customer_id: int | None) -> int:
    return standing(uow, customer_id).balance if customer_id is not None else 0


def hold(uow: UnitOfWork, order_id: int, customer_id: int, used: int) -> None:
    """Reserve the ``used`` points order ``order_id`` pays with."""
    ledger.transfer(uow, f"order:{order_id}:points:spent", account(uow, customer_id),
                    _liability(uow), used, code="points_spent", ref=f"order:{order_id}",
                    pending=True)


def settle(uow: UnitOfWork, order_id: int, fulfilled: bool) -> None:
    """The order's held points spent (``fulfilled``) or released; nothing if it held none
    or they are settled already."""
    held = ledger.find_transfer(uow, f"order:{order_id}:points:spent")
    if held is None:
        return
    if ledger.find_transfer(uow, f"order:{order_id}:points:settled") is not None:
        return
    if fulfilled:
        ledger.post_pending(uow, f"order:{order_id}:points:settled", held.id)
    else:
        ledger.void_pending(uow, f"order:{order_id}:points:settled", held.id)


def earn(uow: UnitOfWork, order: Order) -> int:
    """The points a fulfilled order paid through a provider earns its traveller."""
    found = programme(uow)
    if found is None or order.customer_id is None or order.method in PAID_OUTSIDE:
        return 0
    earned = found.earned(order.amount)
    if earned:
        ledger.transfer(uow, f"order:{order.id}:points:earned", _liability(uow),
                        account(uow, order.customer_id), earned, code="points_earned",
                        ref=f"order:{order.id}")
    return earned


def take_back(uow: UnitOfWork, order: Order) -> None:
    """A refund: the points the order spent come back, those it earned go (as far as the
    traveller still has them)."""
    if order.customer_id is None:
        return
    spent = ledger.find_transfer(uow, f"order:{order.id}:points:spent")
    if spent is not None and ledger.find_transfer(uow, f"order:{order.id}:points:settled"):
        ledger.transfer(uow, f"order:{order.id}:points:returned", _liability(uow),
                        account(uow, order.customer_id), spent.amount, code="points_returned",
                        ref=f"order:{order.id}")
    earned = ledger.find_transfer(uow, f"order:{order.id}:points:earned")
    if earned is not None:
        left = min(earned.amount, spendable(uow, order.customer_id))
        if left > 0:
            ledger.transfer(uow, f"order:{order.id}:points:unearned",
                            account(uow, order.customer_id), _liability(uow), left,
                            code="points_unearned", ref=f"order:{order.id}")


def expire(uow: UnitOfWork, limit: int = 500) -> int:
    """Expire the points of travellers who have neither earned nor spent any for
    ``points_expire_days``; returns how many accounts were emptied."""
    cutoff = uow.now - timedelta(days=uow.settings.points_expire_days)
    used_since = select(transfers.c.id).where(
        or_(transfers.c.debit_account_id == accounts.c.id,
            transfers.c.credit_account_id == accounts.c.id),
        transfers.c.created_at > cutoff).exists()
    rows = uow.conn.execute(select(accounts.c.id, accounts.c.credits_posted,
                                   accounts.c.debits_posted, accounts.c.debits_pending).where(
        accounts.c.kind == POINTS, accounts.c.debits_pending == 0, ~used_since,
        accounts.c.credits_posted - accounts.c.debits_posted > 0)
        .order_by(accounts.c.id).limit(limit)).all()
    for r in rows:
        left = int(r.credits_posted - r.debits_posted)
        ledger.transfer(uow, f"points:{r.id}:expired:{uow.now.date().isoformat()}", int(r.id),
                        _liability(uow), left, code="points_expired")
    return len(rows)
