"""Errors of customers, authentication and lines.

SubscriberError                  root (Conflict)
 ├─ LoginTaken                   registration with an e-mail or phone another user has
 ├─ BadCredentials               wrong login or password (Unauthenticated; never says which)
 ├─ AccountLocked                a throttle key backs off: wait, then try again (RateLimited)
 ├─ ResetCodeInvalid             a password-reset code is wrong, used, expired or spent
 ├─ InvalidIccid / InvalidMsisdn a line identifier fails its format or check digit (InvalidInput)
 ├─ WeakCardSecret               a new line's card secret is short or guessable (InvalidInput)
 ├─ LineNotFound                 no such line, or not the caller's (NotFound)
 ├─ UserNotFound                 no such login (NotFound)
 ├─ BindFailed                   ICCID/MSISDN and card secret do not match an unbound line
 ├─ LineAlreadyBound             the line belongs to another customer
 ├─ IllegalTransition            a lifecycle change the line's state does not allow
 ├─ LineNotUsable                the line is frozen or terminated: no top-ups, no usage
 ├─ GroupNotFound                no such group of lines, or not the caller's (NotFound)
 ├─ InvalidGroup                 a group's name or a member's cap is not acceptable (InvalidInput)
 ├─ LineInGroup                  the line is in a group already (this one or another)
 └─ LineNotInGroup               the line is not in the group now
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound, RateLimited, Unauthenticated


class SubscriberError(Conflict):
    """Root of customer and line errors."""

    code = "subscriber_error"


class LoginTaken(SubscriberError):
    """Raised when registering an e-mail or phone already registered; never says which."""

    code = "login_taken"
    title = "This e-mail address or phone number is already registered"


class BadCredentials(Unauthenticated):
    """Raised on a wrong login or password, without saying which was wrong."""

    code = "bad_credentials"
    title = "Wrong login or password"


class AccountLocked(RateLimited):
    """Raised while a login, reset or bind key waits out its back-off after failures."""

    code = "account_locked"
    title = "Too many failed attempts; try again later"


class WeakCardSecret(InvalidInput):
    """Raised when staff give a new line a card secret that is short or guessable."""

    code = "weak_card_secret"
    title = "The card secret is too easy to guess"


class ResetCodeInvalid(InvalidInput):
    """Raised when a reset code is wrong, expired, used or out of attempts."""

    code = "reset_code_invalid"
    title = "The code is wrong or has expired"


class InvalidIccid(InvalidInput):
    """Raised when an ICCID is not 18-20 digits starting 89 with a valid Luhn digit."""

    code = "invalid_iccid"
    title = "Invalid ICCID"


class InvalidMsisdn(InvalidInput):
    """Raised when a phone number is not a valid E.164 number."""

    code = "invalid_msisdn"
    title = "Invalid phone number"


class LineNotFound(NotFound):
    """Raised when a line does not exist or is not visible to the caller."""

    code = "line_not_found"
    title = "Line not found"


class UserNotFound(NotFound):
    """Raised when staff name a login that does not exist."""

    code = "user_not_found"
    title = "Login not found"


class BindFailed(SubscriberError):
    """Raised when the identifier and card secret do not match a line."""

    code = "bind_failed"
    title = "The number and card secret do not match"


class LineAlreadyBound(SubscriberError):
    """Raised when binding a line that another customer already holds."""

    code = "line_already_bound"
    title = "This line is already bound to another account"


class IllegalTransition(SubscriberError):
    """Raised when a line lifecycle change is not allowed from its current state."""

    code = "illegal_transition"
    title = "This status change is not allowed"


class LineNotUsable(SubscriberError):
    """Raised when a frozen or terminated line is asked to take value or usage."""

    code = "line_not_usable"
    title = "This line cannot be topped up or used now"


class GroupNotFound(NotFound):
    """Raised when a group of lines does not exist or is not the caller's."""

    code = "group_not_found"
    title = "Group not found"


class InvalidGroup(InvalidInput):
    """Raised when a group's name is empty or too long, or a member's cap is negative."""

    code = "invalid_group"
    title = "Invalid group details"


class LineInGroup(SubscriberError):
    """Raised when adding a line that is in a group already (a line shares one pool at a
    time: it leaves the other group first)."""

    code = "line_in_group"
    title = "This line is already in a group"


class LineNotInGroup(SubscriberError):
    """Raised when changing, removing or buying for a line that is not in the group now."""

    code = "line_not_in_group"
    title = "This line is not in the group"
