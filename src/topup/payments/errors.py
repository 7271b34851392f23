"""Payment errors; no vendor SDK exception escapes ``providers/``.

PaymentError (Conflict)               root
 ├─ InvalidNotification (400)          a notification's signature is missing, forged or stale
 ├─ ProviderUnavailable (502)          the provider could not be reached or answered garbage
 ├─ PaymentDeclined (402)              the provider refused the payment
 └─ RefundFailed (502)                 the provider refused or failed the refund
"""

from __future__ import annotations

from topup.errors import Conflict


class PaymentError(Conflict):
    """Root of payment errors."""

    code = "payment_error"


class InvalidNotification(PaymentError):
    """Raised when a notification fails signature or freshness checks; nothing is credited."""

    code = "invalid_notification"
    status = 400
    title = "Notification rejected"


class ProviderUnavailable(PaymentError):
    """Raised when the provider cannot be reached or answers something unusable."""

    code = "provider_unavailable"
    status = 502
    title = "Payment provider unavailable"


class PaymentDeclined(PaymentError):
    """Raised when the provider declines a payment."""

    code = "payment_declined"
    status = 402
    title = "Payment declined"


class RefundFailed(PaymentError):
    """Raised when the provider refuses or fails a refund."""

    code = "refund_failed"
    status = 502
    title = "Refund failed"
