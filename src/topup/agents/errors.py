"""Errors of retail agents, their floats, KYC and terminals.

AgentError                              root of the agents area's refusals
 ├─ AgentNotFound (NotFound)            no agent has that id (or it is not the caller's to see)
 ├─ TierNotFound (NotFound)             no commission tier has that code
 ├─ TerminalNotFound (NotFound)         no terminal has that id
 ├─ InvalidAgent (InvalidInput)         an agent, tier or staff definition is not acceptable
 ├─ AgentSuspended (Conflict)           the agent (or the chain it belongs to) is suspended
 ├─ NotAgentStaff (Forbidden)           the login is not linked to this agent (or to any)
 ├─ FloatInsufficient (InvalidInput)    the float holds less than the sale needs; nothing moved
 ├─ FloatFundingConflict (Conflict)     a funding key was reused for another amount or agent
 ├─ CardOfAnotherAgent (Forbidden)      the voucher's batch was distributed to another agent
 ├─ KycRequired (InvalidInput)          the country asks for the buyer's ID and none was given
 ├─ InvalidKyc (InvalidInput)           the ID type or number is not acceptable
 ├─ SignatureInvalid (Unauthenticated)  a terminal request is unsigned, mis-signed or unknown
 │   └─ TimestampOutOfWindow            its X-Timestamp is more than the window from now
 ├─ NonceReplayed (Conflict)            the terminal already used this X-Nonce
 └─ TerminalDisabled (Forbidden)        the terminal was disabled by the operator
"""

from __future__ import annotations

from topup.errors import Conflict, Forbidden, InvalidInput, NotFound, TopupError, Unauthenticated


class AgentError(TopupError):
    """Root of the agents area's errors; catch it to handle any of them."""

    code = "agent_error"
    title = "The agent request was refused"


class AgentNotFound(AgentError, NotFound):
    """Raised when no agent has the id, or the caller may not see it."""

    code = "agent_not_found"
    title = "Agent not found"


class TierNotFound(AgentError, NotFound):
    """Raised when a commission tier code names no tier."""

    code = "tier_not_found"
    title = "Commission tier not found"


class TerminalNotFound(AgentError, NotFound):
    """Raised when no terminal has the id."""

    code = "terminal_not_found"
    title = "Terminal not found"


class InvalidAgent(AgentError, InvalidInput):
    """Raised when an agent, tier or staff definition is not acceptable (``field`` says what)."""

    code = "invalid_agent"
    title = "Invalid agent definition"


class AgentSuspended(AgentError, Conflict):
    """Raised when a suspended agent, or a store of a suspended chain, tries to sell."""

    code = "agent_suspended"
    title = "The agent is suspended"


class NotAgentStaff(AgentError, Forbidden):
    """Raised when a login acts for an agent it is not staff of."""

    code = "not_agent_staff"
    title = "This login does not act for that agent"


class FloatInsufficient(AgentError, InvalidInput):
    """Raised when a sale needs more than the agent's float holds; nothing was moved.
    ``extra`` holds ``available`` and ``needed`` in minor units."""

    code = "float_insufficient"
    title = "The agent's float is too low"


class FloatFundingConflict(AgentError, Conflict):
    """Raised when a float funding key was already used for a different funding."""

    code = "float_funding_conflict"
    title = "This funding key was used for a different funding"


class CardOfAnotherAgent(AgentError, Forbidden):
    """Raised when an agent sells a card from a batch distributed to another agent."""

    code = "card_of_another_agent"
    title = "This card was distributed to another agent"


class KycRequired(AgentError, InvalidInput):
    """Raised when the country requires the buyer's ID for a sale and none was given."""

    code = "kyc_required"
    title = "The buyer's ID is required"


class InvalidKyc(AgentError, InvalidInput):
    """Raised when an ID type is unknown or an ID number is not acceptable."""

    code = "invalid_kyc"
    title = "Invalid ID document"


class SignatureInvalid(AgentError, Unauthenticated):
    """Raised when a terminal request has a missing, malformed or wrong signature, or names
    an unknown terminal key (never says which)."""

    code = "signature_invalid"
    title = "The request signature is missing or wrong"


class TimestampOutOfWindow(SignatureInvalid):
    """Raised when a correctly signed request's X-Timestamp is outside the clock window."""

    code = "timestamp_out_of_window"
    title = "The request timestamp is too old or too far ahead"


class NonceReplayed(AgentError, Conflict):
    """Raised when a terminal sends an X-Nonce it already used: the request is a replay."""

    code = "nonce_replayed"
    title = "This request was already received (replayed nonce)"


class TerminalDisabled(AgentError, Forbidden):
    """Raised when a disabled terminal signs a request."""

    code = "terminal_disabled"
    title = "The terminal is disabled"
