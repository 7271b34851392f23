"""The Stripe Checkout payment provider: cards on Stripe's hosted payment page, for the web
portal (apps keep the ``stripe`` provider's PaymentIntents and Stripe Elements).

Settings, from the environment (see ``docs/payments-stripe.md``, section "Checkout"):

- ``TOPUP_STRIPE_SECRET_KEY`` (required): the same key as the ``stripe`` provider's;
  ``sk_test_…`` / ``rk_test_…`` means test mode.
- ``TOPUP_STRIPE_CHECKOUT_WEBHOOK_SECRETS`` (required unless ``TOPUP_STRIPE_WEBHOOK_SECRETS``
  is set, which it then falls back to): the ``whsec_…`` of the endpoint
  ``/api/v1/webhooks/stripe_checkout``, comma-separated while rolling.
- ``TOPUP_STRIPE_CHECKOUT_EXPIRES_MINUTES`` (optional, 30; 30 to 1380): how long the hosted
  page takes a payment.
- Shared with the ``stripe`` provider: ``TOPUP_STRIPE_API_BASE`` (a local stand-in in tests),
  ``TOPUP_STRIPE_TIMEOUT_SECONDS`` (20), ``TOPUP_STRIPE_MAX_RETRIES`` (2),
  ``TOPUP_STRIPE_IDEMPOTENCY_PREFIX`` (``topup``).

Cards the payer asks to keep are charged later by the ``stripe`` saver (auto-renew, automatic
top-up), so list ``stripe`` in ``TOPUP_PAYMENT_PROVIDERS`` too for those.
"""

from __future__ import annotations

from topup.payments.providers.stripe import TEST_KEY_PREFIXES, client_for, number_setting
from topup.payments.providers.stripe_checkout.provider import (
    MAX_MINUTES,
    MIN_MINUTES,
    StripeCheckoutProvider,
)
from topup.payments.registry import ProviderConfigError, ProviderContext


def from_settings(ctx: ProviderContext) -> StripeCheckoutProvider:
    """Build the provider from ``TOPUP_STRIPE_*``; a missing secret names itself."""
    secret_key = ctx.require("TOPUP_STRIPE_SECRET_KEY")
    own = ctx.env.get("TOPUP_STRIPE_CHECKOUT_WEBHOOK_SECRETS", "").strip()
    listed = own or ctx.require("TOPUP_STRIPE_WEBHOOK_SECRETS")
    secrets = [s.strip() for s in listed.split(",") if s.strip()]
    if not secrets:
        raise ProviderConfigError("TOPUP_STRIPE_CHECKOUT_WEBHOOK_SECRETS names no secret")
    minutes = number_setting(ctx, "TOPUP_STRIPE_CHECKOUT_EXPIRES_MINUTES", MIN_MINUTES)
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise ProviderConfigError(
            f"TOPUP_STRIPE_CHECKOUT_EXPIRES_MINUTES is {MIN_MINUTES} to {MAX_MINUTES}")
    prefix = ctx.env.get("TOPUP_STRIPE_IDEMPOTENCY_PREFIX", "").strip() or "topup"
    return StripeCheckoutProvider(
        client_for(ctx, secret_key), webhook_secrets=secrets,
        test_mode=secret_key.startswith(TEST_KEY_PREFIXES), idempotency_prefix=prefix,
        expires_minutes=minutes)


__all__ = ["StripeCheckoutProvider", "from_settings"]
