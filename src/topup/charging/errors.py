"""Charging errors.

ChargingError (Conflict)                        root
 ├─ UsageRecordConflict                         a record id was reused with different contents
 ├─ ChargingRequestConflict                     a session's request number reused, or too old
 ├─ ChargingSessionClosed                       the session is closed or was released
 InvalidUsage (InvalidInput)                    unit, quantity, country or time not acceptable
 InvalidChargingRequest (InvalidInput)          a charging request that cannot be answered
 ChargingSessionNotFound (NotFound)             no session with that ref
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound


class ChargingError(Conflict):
    """Root of charging errors."""

    code = "charging_error"


class UsageRecordConflict(ChargingError):
    """Raised when a usage record id arrives again with different contents."""

    code = "usage_record_conflict"
    title = "Usage record id already used for a different record"


class InvalidUsage(InvalidInput):
    """Raised when a usage record's unit, quantity, country or time is not acceptable."""

    code = "invalid_usage"
    title = "Invalid usage record"


class ChargingRequestConflict(ChargingError):
    """Raised when a session's request number comes again with other contents, or after a
    later one."""

    code = "charging_request_conflict"
    title = "Charging request conflicts with the session"


class ChargingSessionClosed(ChargingError):
    """Raised when a request reaches a session that was terminated or released."""

    code = "charging_session_closed"
    title = "Charging session is closed"


class InvalidChargingRequest(InvalidInput):
    """Raised when a charging request's kind, numbers or units are not acceptable."""

    code = "invalid_charging_request"
    title = "Invalid charging request"


class ChargingSessionNotFound(NotFound):
    """Raised when an update or termination names no known session."""

    code = "charging_session_not_found"
    title = "Charging session not found"
