"""Errors of the eSIM area: the SM-DP+, the profile stock and the store.

TopupError
 ├─ SmdpRefused          the SM-DP+ answered an ES2+ function Failed or Expired
 ├─ SmdpUnavailable      the SM-DP+ could not be reached or answered out of protocol
 ├─ SealBroken           a sealed confirmation code cannot be opened (another secret key)
 ├─ InvalidInput
 │   ├─ BadProfileRow    a row of a vendor's profile file is not a usable profile
 │   ├─ BadProgressInfo  a handleDownloadProgressInfo body is not one ES2+ defines
 │   └─ NotSoldAsEsim    the plan is not sold as a new eSIM (no stock serves its zone)
 ├─ NotFound
 │   └─ ProfileNotFound  no profile has that ICCID
 ├─ Unauthenticated
 │   └─ CallbackRefused  an SM-DP+ callback without the configured credentials
 └─ Conflict
     ├─ OutOfStock       no profile of the pool is available now
     └─ AccountExists    a guest gave the e-mail address of an account: log in first
"""

from __future__ import annotations

from typing import Any

from topup.errors import Conflict, InvalidInput, NotFound, TopupError, Unauthenticated


class SmdpRefused(TopupError):
    """The SM-DP+ answered a function with ``Failed`` or ``Expired``: ``subject_code`` and
    ``reason_code`` (SGP.22's status code data) say about what and why."""

    code = "smdp_refused"
    status = 502
    title = "The eSIM provider refused the request"

    def __init__(self, function: str, status: str, data: dict[str, Any]) -> None:
        self.function, self.execution_status = function, status
        self.subject_code = str(data.get("subjectCode") or "")
        self.reason_code = str(data.get("reasonCode") or "")
        self.subject_identifier = str(data.get("subjectIdentifier") or "")
        self.message = str(data.get("message") or "")
        said = f": {self.message}" if self.message else ""
        super().__init__(
            f"{function}: {status} (subject {self.subject_code or '?'}, reason "
            f"{self.reason_code or '?'}){said}", function=function, status=status,
            subject_code=self.subject_code, reason_code=self.reason_code)


class SmdpUnavailable(TopupError):
    """The SM-DP+ could not be reached, or did not answer as ES2+ says it answers."""

    code = "smdp_unavailable"
    status = 502
    title = "The eSIM provider is not reachable"


class SealBroken(TopupError):
    """A confirmation code sealed under another secret key (or for another profile)."""

    code = "esim_seal_broken"
    status = 500
    title = "An eSIM confirmation code cannot be opened"


class BadProfileRow(InvalidInput):
    """A row of a vendor's profile file is not a usable profile (the message says why)."""

    code = "esim_bad_profile_row"
    title = "Invalid eSIM profile"


class BadProgressInfo(InvalidInput):
    """A download progress report is not shaped as ES2+ defines it."""

    code = "esim_bad_progress_info"
    title = "Invalid download progress report"


class NotSoldAsEsim(InvalidInput):
    """The plan cannot be bought as a new eSIM: no profile pool serves its zone."""

    code = "esim_not_sold"
    title = "This plan is not sold as a new eSIM"


class ProfileNotFound(NotFound):
    """No eSIM profile has that ICCID."""

    code = "esim_profile_not_found"
    title = "eSIM profile not found"


class CallbackRefused(Unauthenticated):
    """An SM-DP+ callback came without the credentials configured for it."""

    code = "smdp_callback_refused"
    title = "SM-DP+ callback refused"


class OutOfStock(Conflict):
    """Every profile that could serve the plan is sold or reserved right now."""

    code = "esim_out_of_stock"
    title = "No eSIM is available for this plan right now"


class AccountExists(Conflict):
    """A guest order gave the e-mail address of an existing account."""

    code = "account_exists"
    title = "An account with this e-mail address exists: log in to buy"
