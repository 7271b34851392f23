"""Errors of support tickets.

SupportError                                   root of the support area's refusals
 ├─ TicketNotFound (NotFound)                  no ticket has that id, or it is not the caller's
 ├─ InvalidTicket (InvalidInput)               a subject or message that is empty or too long,
 │                                             or an order or line that is not the traveller's
 ├─ InvalidAssignee (InvalidInput)             a ticket given to a login that is not support
 │                                             or admin staff
 ├─ TicketClosed (Conflict)                    staff answered a closed ticket (reopen it first)
 └─ InboundRefused (InvalidInput)              an e-mail answer that names no ticket of ours
                                               (no reply address, a forged or unknown token)
"""

from __future__ import annotations

from topup.errors import Conflict, InvalidInput, NotFound, TopupError


class SupportError(TopupError):
    """Root of the support area's errors; catch it to handle any of them."""

    code = "support_error"
    title = "The support request was refused"


class TicketNotFound(SupportError, NotFound):
    """Raised when no ticket has the id, or it belongs to someone else."""

    code = "ticket_not_found"
    title = "Ticket not found"


class InvalidTicket(SupportError, InvalidInput):
    """Raised when a subject or message is empty or too long, or names an order or line
    that is not the traveller's."""

    code = "invalid_ticket"
    title = "Invalid support request"


class InvalidAssignee(SupportError, InvalidInput):
    """Raised when a ticket is assigned to a login that is not support or admin staff."""

    code = "invalid_assignee"
    title = "This login cannot take tickets"


class TicketClosed(SupportError, Conflict):
    """Raised when staff answer a closed ticket: reopen it first."""

    code = "ticket_closed"
    title = "This ticket is closed"


class InboundRefused(SupportError, InvalidInput):
    """Raised when an inbound e-mail names no ticket of ours (no token, or a forged one)."""

    code = "inbound_refused"
    title = "This e-mail answers no ticket"
