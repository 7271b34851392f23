"""Order errors.

OrderError (Conflict)              root
 ├─ OrderNotFound (NotFound)        no such order, or not the caller's
 ├─ IllegalOrderTransition          a state change the order's state does not allow
 ├─ DuplicateSuspected              an identical order for the line was made minutes ago;
 │                                  resend with ``confirm_duplicate`` to really pay twice
 ├─ PaymentMethodUnavailable        the method is unknown, not configured or not for this order
 ├─ PaymentMismatch                 a provider reported an amount/currency other than the order's
 ├─ InvalidOrder (InvalidInput)     the request cannot become an order
 ├─ CurrencyNotForLine (InvalidInput)  money for a line in a currency that is not its own
 │                                  (other than a top-up converted into the line's currency)
 ├─ AutoTopupNotFound (NotFound)    the line has no auto top-up rule, or is not the caller's
 └─ InvalidAutoTopup (InvalidInput) an auto top-up rule that cannot be accepted (threshold,
                                    caps, a saved method that is not the owner's or cannot pay)
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound


class OrderError(Conflict):
    """Root of order errors."""

    code = "order_error"


class OrderNotFound(NotFound):
    """Raised when an order does not exist or is not visible to the caller."""

    code = "order_not_found"
    title = "Order not found"


class IllegalOrderTransition(OrderError):
    """Raised when an order is asked to move to a state its state does not lead to."""

    code = "illegal_order_transition"
    title = "The order cannot change to that state"


class DuplicateSuspected(OrderError):
    """Raised when the same top-up or purchase for the same line was made minutes ago."""

    code = "duplicate_suspected"
    title = "An identical order was made a few minutes ago"


class PaymentMethodUnavailable(OrderError):
    """Raised when a payment method is unknown, not configured, or does not fit the order."""

    code = "payment_method_unavailable"
    status = 422
    title = "Payment method not available"


class PaymentMismatch(OrderError):
    """Raised when a provider reports a different amount or currency than the order's."""

    code = "payment_mismatch"
    title = "The payment does not match the order"


class InvalidOrder(InvalidInput):
    """Raised when a request cannot become an order (no amount, no plan, bad currency)."""

    code = "invalid_order"
    title = "Invalid order"


class CurrencyNotForLine(InvalidInput):
    """Raised when money would reach a line's wallet in a currency other than the line's."""

    code = "currency_not_for_line"
    title = "The line does not take this currency"


class AutoTopupNotFound(NotFound):
    """Raised when a line has no auto top-up rule (or the line is not the caller's)."""

    code = "auto_topup_not_found"
    title = "No auto top-up is set for this line"


class InvalidAutoTopup(InvalidInput):
    """Raised when an auto top-up rule cannot be accepted: a negative threshold, caps outside
    the operator's, or a payment method that is not the owner's live saved method."""

    code = "invalid_auto_topup"
    title = "Invalid auto top-up"
