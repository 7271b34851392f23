"""The operator accounts vouchers move value through, and the transfer ids they use.

Life of a voucher's value (money unit of the batch's currency):

- activation of a batch (a distributor paid, or owes, for the cards):
  ``voucher_sales`` (receivable) -> ``voucher_liability``, face x cards;
- a retailer sells one card of a batch not activated: payer (an agent's float) ->
  ``voucher_liability``, face;
- redemption: pending ``voucher_liability`` -> ``clearing:voucher`` (face), posted when the
  order is made; the order then pays itself from ``clearing:voucher``. A plan voucher whose
  plan now costs more or less than its face has the difference booked between
  ``promotion_expense`` and ``clearing:voucher``, so the clearing account and the voucher's
  liability both return to zero;
- expiry of an unused active voucher: ``voucher_liability`` -> ``breakage``.

The liability and breakage accounts are split into shards by voucher id, like the accounts of
lines: redemptions of different vouchers lock different rows. The clearing account is on the
redeeming line's shard.
"""

from __future__ import annotations

from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import (
    BREAKAGE,
    PROMOTION_EXPENSE,
    VOUCHER_LIABILITY,
    VOUCHER_SALES,
    clearing_kind,
)

CLEARING = clearing_kind("voucher")


def _unit(currency: str) -> str:
    return ledger.money_unit(currency)


def liability(uow: UnitOfWork, voucher_id: int, currency: str) -> int:
    """The liability shard that holds this voucher's value."""
    return ledger.operator_account(uow, VOUCHER_LIABILITY, _unit(currency), line_id=voucher_id)


def breakage(uow: UnitOfWork, voucher_id: int, currency: str) -> int:
    """Where the value of a voucher that expired unused goes (on the voucher's shard)."""
    return ledger.operator_account(uow, BREAKAGE, _unit(currency), line_id=voucher_id)


def sales(uow: UnitOfWork, currency: str) -> int:
    """What distributors owe (or paid) for activated batches."""
    return ledger.operator_account(uow, VOUCHER_SALES, _unit(currency))


def clearing(uow: UnitOfWork, line_id: int, currency: str) -> int:
    """Voucher value in flight to an order, on the redeeming line's shard."""
    return ledger.operator_account(uow, CLEARING, _unit(currency), line_id=line_id)


def promotion(uow: UnitOfWork, line_id: int, currency: str) -> int:
    """The operator's promotion expense on the line's shard (plan price differences)."""
    return ledger.operator_account(uow, PROMOTION_EXPENSE, _unit(currency), line_id=line_id)


def hold_key(voucher_id: int, attempt: int) -> str:
    """The pending transfer of a voucher's ``attempt``-th redemption."""
    return f"voucher:{voucher_id}:hold:{attempt}"
