"""The payment port: what topup needs from any payment provider.

Each provider (sandbox, Stripe, PayPal, Alipay, WeChat Pay, bank transfer) implements
``PaymentProvider`` in ``providers/<name>/`` with its vendor's own SDK or wire format, and
translates vendor exceptions into ``payments.errors`` at that boundary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class NextAction:
    """What the payer does next: follow a redirect, scan a QR payload, or nothing."""

    kind: str  # "redirect" | "qr" | "client_secret" | "bank_reference" | "none"
    value: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SaveFor:
    """The payer asked to keep the card for later off-session charges (auto-renew, automatic
    top-up): for whom (our user id), and the provider's customer already known for them."""

    user_ref: str
    customer_ref: str | None = None


@dataclass(frozen=True)
class PaymentRequest:
    """What the provider is asked to collect for one order."""

    order_id: int
    amount: int  # minor units of ``currency``
    currency: str
    description: str
    idempotency_key: str
    return_url: str | None = None  # where the payer comes back to after paying
    notify_url: str | None = None  # our webhook for this provider
    language: str = "en"  # the payer's: "en" or "zh-CN"
    save_for: SaveFor | None = None  # only to a provider that ``KeepsMethods``


@dataclass(frozen=True)
class PaymentStart:
    """The provider's reference for the payment and the payer's next action."""

    provider_ref: str
    next_action: NextAction


@dataclass(frozen=True)
class KeptMethod:
    """A card the provider kept while it took a payment, because the payer asked
    (``SaveFor``): the provider's references, brand and last 4, nothing more. ``saver`` names
    the ``SavesMethods`` that charges it off-session later."""

    saver: str
    user_ref: str
    customer_ref: str
    method_ref: str
    brand: str | None = None
    last4: str | None = None


@dataclass(frozen=True)
class PaymentStatus:
    """Where a payment stands at the provider, in minor units of the order's currency.

    A pending payment's amount may be 0 when the provider knows no amount yet (an Alipay QR
    code nobody scanned); only a succeeded payment's amount is checked against the order.
    """

    provider_ref: str
    state: str  # "pending" | "succeeded" | "failed"
    amount: int
    currency: str
    method_detail: str | None = None  # e.g. "visa 4242" — never more of a card than that
    kept: KeptMethod | None = None  # the card kept for later, when the payer asked


@dataclass(frozen=True)
class Ack:
    """The HTTP answer a provider expects to a notification it sent."""

    status_code: int = 200
    body: str = ""
    media_type: str = "text/plain"


@dataclass(frozen=True)
class Notification:
    """A verified notification: ``status`` is None when the event is not about a payment."""

    event_id: str
    status: PaymentStatus | None
    ack: Ack = Ack()


@dataclass(frozen=True)
class Refund:
    """A refund the provider accepted."""

    provider_ref: str
    refund_ref: str
    amount: int
    currency: str
    state: str  # "succeeded" | "pending"


@runtime_checkable
class PaymentProvider(Protocol):
    """A way to pay (sandbox, card, PayPal, Alipay, WeChat Pay, bank transfer)."""

    name: str
    test_mode: bool
    # The ISO 4217 codes it collects; None: any currency the operator sells in. Orders in
    # another currency are never offered this method (see ``accepts``).
    currencies: frozenset[str] | None

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create the payment at the provider; idempotent on ``request.idempotency_key``."""
        ...

    def query(self, provider_ref: str) -> PaymentStatus:
        """Ask the provider where the payment stands (the fallback when no notice comes)."""
        ...

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify a notification's signature over the raw body, then parse it.

        Raises ``InvalidNotification`` for a missing, forged or stale signature.
        """
        ...

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Give back ``amount`` (all or part) of a succeeded payment."""
        ...


@runtime_checkable
class KeepsMethods(Protocol):
    """A provider that can keep the payer's card while it takes a payment
    (``PaymentRequest.save_for``), to be charged later by the ``SavesMethods`` it names."""

    saves_with: str


def accepts(provider: PaymentProvider, currency: str) -> bool:
    """Whether ``provider`` collects payments in ``currency``."""
    return provider.currencies is None or currency in provider.currencies
