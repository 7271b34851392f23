"""Verifying a ``Stripe-Signature`` header over the raw request body.

Stripe signs ``f"{t}.{raw_body}"`` with HMAC-SHA256 under the endpoint's ``whsec_…`` secret and
sends ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>…]``. The check is the SDK's own
(``stripe.WebhookSignature.verify_header``, what ``stripe.Webhook.construct_event`` runs):
constant-time comparison against every ``v1``, and a timestamp no older than the tolerance.
Several secrets are tried in turn so that a rolled endpoint secret keeps working while both are
live. We also refuse timestamps further in the future than the tolerance.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import stripe

from topup.payments.errors import InvalidNotification

HEADER = "stripe-signature"
DEFAULT_TOLERANCE_SECONDS = 300


def signature_header(headers: Mapping[str, str]) -> str:
    """The ``Stripe-Signature`` value, whatever the header's case; empty if absent."""
    for name, value in headers.items():
        if name.lower() == HEADER:
            return value
    return ""


def _timestamp(header: str) -> int:
    items = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    if not items.get("t", "").isdigit() or not any(
            p.startswith("v1=") for p in header.split(",")):
        raise InvalidNotification("Stripe-Signature header is missing or malformed")
    return int(items["t"])


def verify(body: bytes, header: str, secrets: Sequence[str],
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> None:
    """Return if ``header`` signs ``body`` under one of ``secrets`` recently enough.

    Raises InvalidNotification for a missing, malformed, forged or stale signature.
    """
    stamp = _timestamp(header)
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidNotification("notification body is not UTF-8") from exc
    if stamp > time.time() + tolerance:
        raise InvalidNotification("Stripe-Signature timestamp is in the future")
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
        except stripe.SignatureVerificationError:
            continue
        return
    raise InvalidNotification(
        "Stripe-Signature matches no configured webhook secret, or is older than "
        f"{tolerance} s")
