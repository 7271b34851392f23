"""Bank transfer errors (a branch of the payment errors).

PaymentError (Conflict)
 └─ BankTransferError (409)            root of the bank transfer errors
     ├─ StatementRejected (422)         a statement cannot be read safely: malformed, a DTD or
     │                                  entity, an unknown format, or another account's statement
     ├─ ReviewItemNotFound (404)        no review item with that id
     └─ ReviewNotResolvable (409)       the item is already resolved, or ``credit_order`` does
                                        not fit it (not an exact amount, order not awaiting)
"""

from __future__ import annotations

from topup.payments.errors import PaymentError


class BankTransferError(PaymentError):
    """Root of the bank transfer errors."""

    code = "bank_transfer_error"


class StatementRejected(BankTransferError):
    """Raised when a bank statement is refused as a whole; nothing of it is imported."""

    code = "bank_statement_rejected"
    status = 422
    title = "Bank statement rejected"


class ReviewItemNotFound(BankTransferError):
    """Raised when a review item id names no item."""

    code = "bank_review_item_not_found"
    status = 404
    title = "Review item not found"


class ReviewNotResolvable(BankTransferError):
    """Raised when a review item cannot be resolved the way finance asked."""

    code = "bank_review_not_resolvable"
    title = "The review item cannot be resolved that way"
