"""Ledger errors.

LedgerError (Conflict)              root of the ledger's refusals
 ├─ InsufficientFunds               the debit account would go below zero
 ├─ UnitMismatch                    the two accounts hold different units
 ├─ InvalidTransfer                 the amount is not positive or both sides are one account
 ├─ AccountNotFound                 a transfer names an account that does not exist
 ├─ TransferIdempotencyConflict     an idempotency id was reused for a different transfer
 ├─ PendingNotFound                 post/void names no pending transfer
 ├─ PendingAlreadyResolved          the pending transfer was already posted or voided
 ├─ PendingExpired                  the pending transfer timed out before it was posted
 ├─ PostExceedsPending              a partial post asked for more than was reserved
 └─ AmountOutOfRange                a transfer too large, or one that would take an account
                                    total past ``MAX_TOTAL``

ChartError (ValueError)             a programming error, not a refusal: never shown to users
 ├─ UnknownAccountKind              an account kind that the chart of accounts does not name
 └─ AccountKindMisused              a kind used against its chart entry (an operator account
                                    of a line's kind, a wallet allowed below zero)
"""

from __future__ import annotations

from topup.errors import Conflict


class LedgerError(Conflict):
    """Root of ledger refusals; nothing was written when one is raised."""

    code = "ledger_error"
    title = "The ledger refused the transfer"


class InsufficientFunds(LedgerError):
    """Raised when a no-overdraft account lacks the available balance for a debit."""

    code = "insufficient_funds"
    status = 402
    title = "Insufficient balance"


class UnitMismatch(LedgerError):
    """Raised when a transfer names accounts of different units."""

    code = "unit_mismatch"
    title = "Accounts hold different units"


class InvalidTransfer(LedgerError):
    """Raised when a transfer's amount is not positive or it names one account twice."""

    code = "invalid_transfer"
    status = 422
    title = "Invalid transfer"


class AccountNotFound(LedgerError):
    """Raised when a transfer names an account that does not exist."""

    code = "account_not_found"
    status = 404
    title = "Ledger account not found"


class TransferIdempotencyConflict(LedgerError):
    """Raised when an idempotency id already names a different transfer."""

    code = "transfer_idempotency_conflict"
    title = "Idempotency id already used for a different transfer"


class PendingNotFound(LedgerError):
    """Raised when the pending transfer to post or void does not exist."""

    code = "pending_not_found"
    status = 404
    title = "Pending transfer not found"


class PendingAlreadyResolved(LedgerError):
    """Raised when a pending transfer was already posted or voided."""

    code = "pending_already_resolved"
    title = "Pending transfer already resolved"


class PendingExpired(LedgerError):
    """Raised when posting a pending transfer whose timeout has passed."""

    code = "pending_expired"
    title = "Pending transfer expired"


class PostExceedsPending(LedgerError):
    """Raised when a post asks for more than the pending amount."""

    code = "post_exceeds_pending"
    title = "Post amount exceeds the pending amount"


class AmountOutOfRange(LedgerError):
    """Raised when a transfer is too large or would take an account total out of range."""

    code = "amount_out_of_range"
    status = 422
    title = "Amount out of range"


class ChartError(ValueError):
    """Root of misuses of the chart of accounts (``topup.ledger.accounts``): bugs in the
    caller, so a ValueError rather than a refusal the API would turn into a problem."""


class UnknownAccountKind(ChartError):
    """Raised when an account is opened with a kind the chart of accounts does not name."""


class AccountKindMisused(ChartError):
    """Raised when a kind is used against its entry: an operator account of a line's or an
    agent's kind, or an overdraft rule other than the chart's."""
