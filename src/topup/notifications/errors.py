"""Errors of notification delivery.

NotificationError                      root (Conflict)
 ├─ NotificationNotFound (404)         no outbox message with that id
 ├─ NotRetryable (409)                 only a dead (or still queued) message can be retried
 ├─ InvalidPreferences (422)           a quiet-hours window or time zone that makes no sense
 └─ DeliveryFailed                     a sender could not hand a message over (worker only)
     ├─ TemporaryFailure               try again later (connection refused, 4xx, throttled)
     └─ PermanentFailure               never going to work (5xx, bad address, no template)

Senders translate their library's exceptions into ``DeliveryFailed`` at the boundary
(``raise TemporaryFailure(...) from exc``); nothing from smtplib or smpplib escapes ``senders/``.
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound


class NotificationError(Conflict):
    """Root of notification errors."""

    code = "notification_error"
    title = "Notification error"


class NotificationNotFound(NotificationError, NotFound):
    """Raised when an outbox message id does not exist."""

    code = "notification_not_found"
    status = 404
    title = "No such notification"


class NotRetryable(NotificationError):
    """Raised when retrying a message that is being sent or was sent already."""

    code = "notification_not_retryable"
    title = "This notification cannot be retried"


class InvalidPreferences(NotificationError, InvalidInput):
    """Raised when notification preferences are malformed (time zone, quiet hours)."""

    code = "invalid_notification_preferences"
    status = 422
    title = "Invalid notification preferences"


class DeliveryFailed(NotificationError):
    """Raised by a sender when a message was not handed over; ``permanent`` says whether
    trying again could help."""

    code = "delivery_failed"
    title = "Delivery failed"
    permanent = False


class TemporaryFailure(DeliveryFailed):
    """Raised when a retry later may succeed (the server is down, busy or throttling)."""

    code = "delivery_failed_temporarily"


class PermanentFailure(DeliveryFailed):
    """Raised when the message can never be delivered as it is (refused address, no template)."""

    code = "delivery_failed_permanently"
    permanent = True
