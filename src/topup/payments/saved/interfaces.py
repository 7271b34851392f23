"""The port for providers that can keep a payer's card for later, off-session charges."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from topup.payments.interfaces import PaymentRequest, PaymentStatus


@dataclass(frozen=True)
class SetupStart:
    """What the payer's browser needs to hand its card straight to the provider."""

    customer_ref: str
    setup_ref: str
    client_secret: str
    extra: Mapping[str, str] = field(default_factory=dict)  # e.g. the publishable key


@dataclass(frozen=True)
class SavedMethod:
    """A method the provider now keeps for us: references, brand and last 4 only."""

    user_ref: str  # whom the setup was begun for (the provider echoes it back)
    customer_ref: str
    method_ref: str
    brand: str | None
    last4: str | None


@runtime_checkable
class SavesMethods(Protocol):
    """A provider that saves a payment method for off-session (auto-renew) charges."""

    name: str

    def begin_saving(self, user_ref: str, existing_customer_ref: str | None) -> SetupStart:
        """Start a setup for off-session use; creates the provider's customer if needed."""
        ...

    def finish_saving(self, setup_ref: str) -> SavedMethod:
        """The method a completed setup saved; PaymentDeclined if it did not complete."""
        ...

    def charge_saved(self, request: PaymentRequest, customer_ref: str, method_ref: str,
                     intent_ref: str | None = None) -> PaymentStatus:
        """Charge the saved method off-session under ``request.idempotency_key``.

        ``intent_ref``: charge this existing payment (the order's own) instead of a new one.
        A decline or a demand for authentication is a ``failed`` status, not an exception;
        an unreachable provider raises ProviderUnavailable.
        """
        ...

    def detach(self, method_ref: str) -> None:
        """Make the provider forget the method; it can never be charged again."""
        ...
