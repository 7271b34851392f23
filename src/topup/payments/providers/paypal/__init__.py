"""PayPal Checkout (Orders v2) through ``paypal-server-sdk``; see ``docs/payments-paypal.md``.

Settings (``TOPUP_PAYPAL_*``):

- ``CLIENT_ID``, ``CLIENT_SECRET``  the REST app's credentials (required)
- ``WEBHOOK_ID``                    the id PayPal gave our webhook; part of what it signs (required)
- ``MODE``                          ``sandbox`` (default, test mode) or ``live``
- ``BASE_URL``                      override the API base URL (a local peer in tests)
- ``CERT_PEM``                      sandbox only: a pinned webhook-signing certificate
                                    (PEM text or a file path) instead of fetching it
- ``INVOICE_PREFIX``                prepended to invoice ids and request ids, so several
                                    installations can share one PayPal account
"""

from __future__ import annotations

from topup.payments.providers.paypal.client import PayPalClient
from topup.payments.providers.paypal.provider import PaypalProvider
from topup.payments.providers.paypal.signature import (
    CertFetcher,
    WebhookVerifier,
    fetch_https,
    load_certificate,
)
from topup.payments.registry import ProviderConfigError, ProviderContext

MODES = ("sandbox", "live")


def from_settings(ctx: ProviderContext, *, fetch: CertFetcher = fetch_https) -> PaypalProvider:
    """Build the provider from ``ctx.env``; a missing or contradictory setting is named."""
    env = ctx.env
    mode = env.get("TOPUP_PAYPAL_MODE", "sandbox").strip().lower() or "sandbox"
    if mode not in MODES:
        raise ProviderConfigError(f"TOPUP_PAYPAL_MODE must be one of {MODES}, not {mode!r}")
    test_mode = mode == "sandbox"
    pinned_text = env.get("TOPUP_PAYPAL_CERT_PEM", "").strip()
    if pinned_text and not test_mode:
        raise ProviderConfigError("TOPUP_PAYPAL_CERT_PEM is for the sandbox only; live "
                                  "webhooks are verified with PayPal's published certificate")
    try:
        pinned = load_certificate(pinned_text) if pinned_text else None
    except (OSError, ValueError) as exc:
        raise ProviderConfigError(f"TOPUP_PAYPAL_CERT_PEM is not a PEM certificate: {exc}"
                                  ) from exc
    client = PayPalClient(ctx.require("TOPUP_PAYPAL_CLIENT_ID"),
                          ctx.require("TOPUP_PAYPAL_CLIENT_SECRET"),
                          base_url=env.get("TOPUP_PAYPAL_BASE_URL", "").strip() or None,
                          test_mode=test_mode)
    verifier = WebhookVerifier(ctx.require("TOPUP_PAYPAL_WEBHOOK_ID"), fetch, pinned=pinned)
    return PaypalProvider(client, verifier, test_mode=test_mode,
                          invoice_prefix=env.get("TOPUP_PAYPAL_INVOICE_PREFIX", "").strip())


__all__ = ["PayPalClient", "PaypalProvider", "WebhookVerifier", "from_settings"]
