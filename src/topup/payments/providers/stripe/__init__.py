"""The Stripe payment provider (cards through PaymentIntents and Stripe Elements).

Settings, all from the environment (see ``docs/payments-stripe.md``):

- ``TOPUP_STRIPE_SECRET_KEY`` (required): ``sk_test_…`` / ``rk_test_…`` means test mode.
- ``TOPUP_STRIPE_PUBLISHABLE_KEY`` (required): ``pk_…``, handed to the payer's app.
- ``TOPUP_STRIPE_WEBHOOK_SECRETS`` (required): ``whsec_…``, comma-separated while rolling.
- ``TOPUP_STRIPE_API_BASE`` (optional): another API address (a local fake in tests).
- ``TOPUP_STRIPE_TIMEOUT_SECONDS`` (optional, 20), ``TOPUP_STRIPE_MAX_RETRIES`` (optional, 2).
- ``TOPUP_STRIPE_IDEMPOTENCY_PREFIX`` (optional, ``topup``): keeps installations sharing one
  Stripe account from reusing each other's idempotency keys.
"""

from __future__ import annotations

import stripe

from topup.payments.providers.stripe.provider import StripeProvider
from topup.payments.registry import ProviderConfigError, ProviderContext

TEST_KEY_PREFIXES = ("sk_test_", "rk_test_")


def number_setting(ctx: ProviderContext, name: str, default: int) -> int:
    raw = ctx.env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit():
        raise ProviderConfigError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def client_for(ctx: ProviderContext, secret_key: str) -> stripe.StripeClient:
    """A StripeClient with our timeout and retries, aimed at ``TOPUP_STRIPE_API_BASE``."""
    base = ctx.env.get("TOPUP_STRIPE_API_BASE", "").strip().rstrip("/")
    http = stripe.RequestsClient(timeout=number_setting(ctx, "TOPUP_STRIPE_TIMEOUT_SECONDS", 20))
    return stripe.StripeClient(
        secret_key, base_addresses={"api": base} if base else None, http_client=http,
        max_network_retries=number_setting(ctx, "TOPUP_STRIPE_MAX_RETRIES", 2))


def from_settings(ctx: ProviderContext) -> StripeProvider:
    """Build the Stripe provider from ``TOPUP_STRIPE_*``; a missing secret names itself."""
    secret_key = ctx.require("TOPUP_STRIPE_SECRET_KEY")
    publishable = ctx.require("TOPUP_STRIPE_PUBLISHABLE_KEY")
    secrets = [s.strip() for s in ctx.require("TOPUP_STRIPE_WEBHOOK_SECRETS").split(",")
               if s.strip()]
    test_mode = secret_key.startswith(TEST_KEY_PREFIXES)
    if publishable.startswith("pk_test_") != test_mode:
        raise ProviderConfigError(
            "TOPUP_STRIPE_SECRET_KEY and TOPUP_STRIPE_PUBLISHABLE_KEY are from different modes")
    prefix = ctx.env.get("TOPUP_STRIPE_IDEMPOTENCY_PREFIX", "").strip() or "topup"
    return StripeProvider(client_for(ctx, secret_key), publishable_key=publishable,
                          webhook_secrets=secrets, test_mode=test_mode,
                          idempotency_prefix=prefix)


__all__ = ["StripeProvider", "client_for", "from_settings"]
