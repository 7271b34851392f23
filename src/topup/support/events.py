"""Domain events of support tickets, handled in ``support.notices`` (wired in
``topup.handlers``) before the publishing unit of work commits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StaffReplied:
    """Staff answered a ticket: the traveller hears it by e-mail and SMS."""

    ticket_id: int
    message_id: int


@dataclass(frozen=True)
class PaymentLate:
    """The platform opened a ticket for a payment still pending: the traveller is told
    someone is looking at it."""

    ticket_id: int
    order_id: int
