"""The payment port: what an order needs from any payment provider.

Notification verification, refunds and saved methods join this protocol with the real
providers (planned); today the port starts a payment and queries its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class NextAction:
    """What the payer does next: follow a redirect, scan a QR payload, or nothing."""

    kind: str  # "redirect" | "qr" | "client_secret" | "bank_reference" | "none"
    value: str | None = None


@dataclass(frozen=True)
class PaymentRequest:
    """What the provider is asked to collect for one order."""

    order_id: int
    amount: int
    currency: str
    description: str
    idempotency_key: str


@dataclass(frozen=True)
class PaymentStart:
    """The provider's reference for the payment and the payer's next action."""

    provider_ref: str
    next_action: NextAction


@dataclass(frozen=True)
class PaymentStatus:
    """Where a payment stands at the provider."""

    provider_ref: str
    state: str  # "pending" | "succeeded" | "failed"
    amount: int
    currency: str


@runtime_checkable
class PaymentProvider(Protocol):
    """A way to pay (sandbox, card, PayPal, Alipay, WeChat Pay, bank transfer)."""

    name: str
    test_mode: bool

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create the payment at the provider; idempotent on ``request.idempotency_key``."""
        ...

    def query(self, provider_ref: str) -> PaymentStatus:
        """Ask the provider where the payment stands (the fallback when no notice comes)."""
        ...
