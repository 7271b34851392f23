"""Auto top-up: a traveller's rule that tops a line's wallet up from a saved card when its
available balance falls below a threshold. This module keeps the rule (saved, read, switched
off) and re-arms it; ``orders.autotopup_runs`` is the worker's side (firing and charging).

Once per crossing: a rule is *armed* until it fires. The worker disarms it in the transaction
that creates its top-up order, so a second run (or a second worker) finds nothing to fire
while the balance stays low, and the order's lease marks it in flight. The rule re-arms only
when the balance is seen back at or above the threshold:

- at once, in the transaction that credits the wallet, for every top-up order fulfilled
  (its own included): ``on_fulfilled``, a handler of ``OrderFulfilled`` — so a balance that
  goes up and straight down again between two runs of the worker is still a new crossing;
- on each run of the worker (``rearm``) for whatever else raised it (a charging hold released,
  a refund back to the wallet), never while a top-up of the rule is in flight.

Nothing here runs on the usage or charging path: the worker reads the wallets' balances.
Saving a rule arms it when it is new, was switched off, or names another card; otherwise an
edit keeps its state (a client that sends the same rule twice fires nothing twice).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import String, and_, exists, insert, literal, select, update

from topup.catalog import service as catalog
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger.accounts import WALLET
from topup.ledger.tables import accounts
from topup.money import MAX_AMOUNT, Money
from topup.orders.errors import AutoTopupNotFound, InvalidAutoTopup
from topup.orders.tables import auto_topups as at
from topup.payments.saved.service import StoredMethod, list_methods
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

if TYPE_CHECKING:
    from topup.orders.model import OrderFulfilled

CHANNEL = "autotopup"  # the channel of the orders a rule makes


@dataclass(frozen=True)
class Rule:
    """What a traveller asks for: below ``threshold`` (minor units of the line's currency),
    top up ``amount`` with saved method ``method_id``; at most ``max_per_day`` top-ups and
    ``max_amount_per_day`` in 24 hours (None: the operator's defaults)."""

    threshold: int
    amount: int
    method_id: int
    max_per_day: int | None = None
    max_amount_per_day: int | None = None
    currency: str | None = None  # None: the line's; any other is refused


@dataclass(frozen=True)
class AutoTopup:
    """A line's rule as stored, with its state."""

    line_id: int
    customer_id: int
    method_id: int
    currency: str
    threshold: int
    amount: int
    max_per_day: int
    max_amount_per_day: int | None
    enabled: bool
    armed: bool
    order_id: int | None
    lease_until: datetime | None
    held_until: datetime | None
    last_outcome: str | None
    fired_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Any) -> AutoTopup:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})

    @property
    def in_flight(self) -> bool:
        """A top-up it made is still being charged or settled."""
        return self.lease_until is not None


def find_auto_topup(uow: UnitOfWork, line_id: int) -> AutoTopup | None:
    """The line's rule, switched on or off; None when it never had one."""
    row = uow.conn.execute(select(at).where(at.c.line_id == line_id)).first()
    return AutoTopup.of(row) if row is not None else None


def get_auto_topup(uow: UnitOfWork, line_id: int) -> AutoTopup:
    """The line's rule; AutoTopupNotFound when it never had one."""
    found = find_auto_topup(uow, line_id)
    if found is None:
        raise AutoTopupNotFound("no auto top-up is set for this line")
    return found


def count_ceiling(uow: UnitOfWork) -> int:
    """The most top-ups a rule may make in 24 hours (the operator's setting)."""
    return max(1, uow.settings.auto_topup_max_per_day)


def amount_ceiling(uow: UnitOfWork, currency: str) -> int | None:
    """The most money a rule may top up in 24 hours in ``currency``; None: no ceiling."""
    return uow.settings.auto_topup_max_amount_per_day.get(currency)


def day_caps(uow: UnitOfWork, rule: AutoTopup) -> tuple[int, int | None]:
    """The caps that hold now: the traveller's, within the operator's current ones."""
    ceiling = amount_ceiling(uow, rule.currency)
    chosen = [x for x in (rule.max_amount_per_day, ceiling) if x is not None]
    return min(rule.max_per_day, count_ceiling(uow)), min(chosen) if chosen else None


def _bad(detail: str, field: str, **extra: Any) -> InvalidAutoTopup:
    return InvalidAutoTopup(detail, field=field, **extra)


def _check_money(uow: UnitOfWork, line: Line, rule: Rule, currency: str) -> None:
    if not 0 <= rule.threshold <= MAX_AMOUNT:
        raise _bad(f"threshold is minor units from 0 to {MAX_AMOUNT}", "threshold")
    try:
        catalog.check_topup_amount(uow, line.home_country, Money(rule.amount, currency))
    except TopupError as exc:  # out of the line's top-up limits: say which field
        exc.extra.setdefault("field", "amount")
        raise


def _caps(uow: UnitOfWork, rule: Rule, currency: str) -> tuple[int, int | None]:
    most = count_ceiling(uow)
    count = most if rule.max_per_day is None else rule.max_per_day
    if not 1 <= count <= most:
        raise _bad(f"max_per_day is from 1 to {most}", "max_per_day", max_per_day=most)
    ceiling = amount_ceiling(uow, currency)
    if ceiling is not None and rule.amount > ceiling:
        raise _bad(f"the operator allows at most {Money(ceiling, currency)} of automatic "
                   "top-ups a day", "amount", max_amount_per_day=ceiling)
    money = rule.max_amount_per_day
    if money is not None and not rule.amount <= money <= (ceiling or MAX_AMOUNT):
        top = Money(ceiling or MAX_AMOUNT, currency)
        raise _bad(f"max_amount_per_day is from the amount ({Money(rule.amount, currency)}) "
                   f"to {top}", "max_amount_per_day", max_amount_per_day=ceiling)
    return count, money


def _method(uow: UnitOfWork, customer_id: int, method_id: int,
            usable: Collection[str] | None) -> StoredMethod:
    mine = {m.id: m for m in list_methods(uow, customer_id)}
    method = mine.get(method_id)
    if method is None:
        raise _bad("payment_method_id is not one of your saved payment methods",
                   "payment_method_id")
    if usable is not None and method.provider not in usable:
        raise _bad(f"saved {method.provider} cards cannot be charged here now",
                   "payment_method_id")
    return method


def save_auto_topup(uow: UnitOfWork, line: Line, rule: Rule, *,
                    usable_providers: Collection[str] | None = None) -> AutoTopup:
    """Set the line's rule and switch it on (for the line's customer, with their saved method).

    ``usable_providers``: the providers that can charge saved methods here (None: any).
    Raises InvalidAutoTopup, TopupOutOfLimits or CurrencyNotForLine (each naming the field),
    LineNotUsable for a frozen or terminated line."""
    line_svc.ensure_usable(line)
    if line.customer_id is None:
        raise AutoTopupNotFound("only a line's own customer sets its auto top-up")
    currency = (rule.currency or line.currency).upper()
    if currency != line.currency:
        raise _bad(f"this line's money is in {line.currency}", "currency",
                   line_currency=line.currency)
    _check_money(uow, line, rule, currency)
    count, money = _caps(uow, rule, currency)
    _method(uow, line.customer_id, rule.method_id, usable_providers)
    values = {"customer_id": line.customer_id, "method_id": rule.method_id,
              "currency": currency, "threshold": rule.threshold, "amount": rule.amount,
              "max_per_day": count, "max_amount_per_day": money, "enabled": True,
              "held_until": None, "updated_at": uow.now}
    before = uow.conn.execute(select(at).where(at.c.line_id == line.id)
                              .with_for_update()).first()
    if before is None:
        uow.conn.execute(insert(at).values(line_id=line.id, armed=True, created_at=uow.now,
                                           **values))
    else:
        fresh = (not before.enabled or before.method_id != rule.method_id
                 or before.customer_id != line.customer_id)
        uow.conn.execute(update(at).where(at.c.line_id == line.id).values(
            armed=True if fresh else before.armed, **values))
    return get_auto_topup(uow, line.id)


def switch_off(uow: UnitOfWork, line_id: int) -> AutoTopup | None:
    """Switch the line's rule off (kept, to be switched on again); None when it had none.
    A top-up already being charged completes; nothing fires after this."""
    done = uow.conn.execute(update(at).where(at.c.line_id == line_id).values(
        enabled=False, armed=False, held_until=None, updated_at=uow.now))
    return find_auto_topup(uow, line_id) if done.rowcount else None


def wallet_available() -> Any:
    """The available balance (posted credits less posted and pending debits) of a rule's
    wallet, for statements over ``auto_topups`` joined to ``ledger_accounts`` by ``wallet_of``."""
    return accounts.c.credits_posted - accounts.c.debits_posted - accounts.c.debits_pending


def wallet_of() -> Any:
    """The join condition of a rule and its line's wallet in the rule's currency."""
    return and_(accounts.c.line_id == at.c.line_id, accounts.c.kind == WALLET,
                accounts.c.unit == literal("money:", String) + at.c.currency)


def rearm(uow: UnitOfWork) -> int:
    """Arm again every rule switched on, with nothing in flight, whose wallet is back at or
    above its threshold; returns how many. One statement: a rule the worker fires meanwhile
    (it sets the lease) is never armed again by a balance read before that."""
    back = exists().where(wallet_of(), wallet_available() >= at.c.threshold)
    done = uow.conn.execute(update(at).where(
        at.c.enabled.is_(True), at.c.armed.is_(False), at.c.lease_until.is_(None), back,
    ).values(armed=True, updated_at=uow.now))
    return int(done.rowcount or 0)


def on_fulfilled(uow: UnitOfWork, event: OrderFulfilled) -> None:
    """A top-up landed: if it was the rule's own, it is no longer in flight; and a balance now
    at or above the threshold arms the rule again (in the same transaction as the credit)."""
    order = event.order
    if order.kind != "topup":
        return
    row = uow.conn.execute(select(at).where(at.c.line_id == order.line_id)
                           .with_for_update()).first()
    if row is None:
        return
    values: dict[str, Any] = {}
    if row.order_id == order.id and row.lease_until is not None:
        values.update(lease_until=None, last_outcome="paid", last_error=None)
    elif row.lease_until is not None:
        return  # another top-up of the rule is in flight: its outcome decides
    if (row.enabled and not row.armed and order.credited_currency == row.currency
            and event.balance >= row.threshold):
        values["armed"] = True
    if values:
        uow.conn.execute(update(at).where(at.c.line_id == order.line_id).values(
            updated_at=uow.now, **values))
