"""Charging errors.

ChargingError (Conflict)            root
 ├─ UsageRecordConflict             a record id was reused with different contents
 └─ InvalidUsage (InvalidInput)     unit, quantity, country or time is not acceptable
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput


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
