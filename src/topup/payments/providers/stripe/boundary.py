"""Where Stripe's exceptions become topup's: no SDK exception leaves this package.

``stripe.CardError`` (and, when creating a payment, ``InvalidRequestError`` such as an amount
below Stripe's minimum) is a refusal the payer can act on: ``PaymentDeclined`` with Stripe's
own user-facing message. Everything else — network, rate limit, authentication, Stripe's own
errors, an answer we cannot read — is ``ProviderUnavailable`` (``RefundFailed`` for refunds).
Stripe's messages never contain card numbers; we log the error type, code and request id.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import stripe

from topup.errors import InvalidInput
from topup.payments.errors import (
    PaymentDeclined,
    PaymentError,
    ProviderUnavailable,
    RefundFailed,
)

log = logging.getLogger("topup.payments.stripe")

# What a malformed or unexpected answer raises while we read it.
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, InvalidInput)


def _message(exc: stripe.StripeError) -> str:
    return str(exc.user_message or type(exc).__name__)


def _chosen(exc: stripe.StripeError, *, refund: bool, declines: bool) -> PaymentError:
    if refund:
        return RefundFailed(f"Stripe refused the refund: {_message(exc)}")
    if isinstance(exc, stripe.CardError) or (
            declines and isinstance(exc, stripe.InvalidRequestError)):
        return PaymentDeclined(_message(exc))
    return ProviderUnavailable(f"Stripe: {_message(exc)}")


@contextmanager
def stripe_call(action: str, *, refund: bool = False, declines: bool = False) -> Iterator[None]:
    """Run a Stripe call, translating its failures.

    ``declines``: a request Stripe rejects is a declined payment (when creating one).
    ``refund``: every failure is a ``RefundFailed``.
    """
    try:
        yield
    except stripe.StripeError as exc:
        log.warning("Stripe %s failed: %s code=%s request=%s", action, type(exc).__name__,
                    exc.code, exc.request_id)
        raise _chosen(exc, refund=refund, declines=declines) from exc
    except _UNREADABLE as exc:
        log.warning("Stripe %s answered something unreadable: %s", action, type(exc).__name__)
        failure = RefundFailed if refund else ProviderUnavailable
        raise failure(f"Stripe {action}: unreadable answer") from exc
