"""What money an order may bring to a line: only currencies the operator sells in, landing
in the line's own currency, and a staff credit under its ceiling (docs/security.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from topup.catalog import service as catalog
from topup.catalog.errors import TopupOutOfLimits
from topup.db.uow import UnitOfWork
from topup.money import Money, offered_currency
from topup.orders.errors import CurrencyNotForLine
from topup.subscribers.lines import Line

if TYPE_CHECKING:
    from topup.orders.model import OrderRequest


def order_currency(uow: UnitOfWork, line: Line, req: OrderRequest) -> str:
    """The currency paid, once it is one the operator sells in and the money it brings lands
    in the line's own currency (as is, or converted at the operator's rate: ``orders/fx.py``).
    Only a plan bought from a wallet the line already holds brings no money in."""
    offered = uow.settings.currencies
    currency = offered_currency(req.currency or line.currency, offered)
    lands = offered_currency(req.credit_currency, offered, field="credit_currency") \
        if req.credit_currency else currency
    if lands != line.currency and not (req.kind == "plan" and req.method == "wallet"):
        raise CurrencyNotForLine(
            f"this line takes money in {line.currency} only; pay in {currency} with "
            f"credit_currency {line.currency} to convert", field="currency",
            currency=currency, line_currency=line.currency)
    return currency


def check_manual_credit(uow: UnitOfWork, line: Line, money: Money) -> None:
    """A staff credit stays within the top-up limits and under the manual credit ceiling."""
    low, high = catalog.topup_limit(uow, line.home_country, money.currency)
    ceiling = uow.settings.manual_credit_max.get(
        money.currency, catalog.default_topup_limit(uow, money.currency)[1])
    if money.amount > ceiling:
        raise TopupOutOfLimits(
            f"a manual credit is at most {Money(ceiling, money.currency)}; got {money}",
            currency=money.currency, min_amount=low, max_amount=min(high, ceiling))
