"""Receipt errors.

ReceiptError                          root
 ├─ ReceiptNotFound (NotFound)        the order has no receipt (yet), or is not the caller's
 └─ ReceiptNotIssuable (Conflict)     the order is not paid, so it gets no receipt
"""

from __future__ import annotations

from topup.errors import Conflict, NotFound, TopupError


class ReceiptError(TopupError):
    """Root of receipt errors."""

    code = "receipt_error"
    title = "Receipt request failed"


class ReceiptNotFound(ReceiptError, NotFound):
    """Raised when an order has no receipt."""

    code = "receipt_not_found"
    title = "Receipt not found"


class ReceiptNotIssuable(ReceiptError, Conflict):
    """Raised when a receipt is asked for an order that is not paid or fulfilled."""

    code = "receipt_not_issuable"
    title = "The order is not paid; it has no receipt"
