"""The PayPal REST calls topup makes, through ``paypal-server-sdk``, with errors translated.

The SDK fetches and refreshes its OAuth2 client-credentials token itself (``/v1/oauth2/token``).
Every call here returns PayPal's JSON answer as a plain dict, so API answers and webhook
resources are read by the same code (``resources.py``). No SDK exception leaves this module:

- the provider could not be reached, refused our credentials or answered garbage
  -> ``ProviderUnavailable``;
- PayPal answered 4xx to a request it understood -> ``PayPalRefused`` (a
  ``ProviderUnavailable`` carrying PayPal's ``issue`` code) for the caller to decide.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from apimatic_core.exceptions.auth_validation_exception import AuthValidationException
from paypalserversdk.configuration import Configuration, Environment, Server
from paypalserversdk.exceptions.api_exception import ApiException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money as PayPalMoney
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.paypal_wallet import PaypalWallet
from paypalserversdk.models.paypal_wallet_experience_context import (
    PaypalWalletExperienceContext,
)
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from topup.payments.errors import ProviderUnavailable

LIVE_URL = "https://api-m.paypal.com"
SANDBOX_URL = "https://api-m.sandbox.paypal.com"
REPRESENTATION = "return=representation"


class PayPalRefused(ProviderUnavailable):
    """Raised when PayPal answered 4xx; ``issue`` is PayPal's first error detail, if any."""

    code = "provider_unavailable"

    def __init__(self, detail: str, *, status: int, issue: str | None) -> None:
        super().__init__(detail, http_status=status, issue=issue)
        self.http_status = status
        self.issue = issue


class _Configuration(Configuration):
    """The SDK's configuration, pointed at one base URL (live, sandbox or a local peer)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        self._base_url = base_url.rstrip("/")
        super().__init__(**kwargs)

    def get_base_uri(self, server: Server = Server.DEFAULT) -> str:
        """Every PayPal API lives under the one base URL."""
        return self._base_url


@dataclass(frozen=True)
class OrderSpec:
    """What one PayPal order is created with (amounts already as PayPal's decimal text)."""

    value: str
    currency: str
    custom_id: str
    invoice_id: str
    description: str
    return_url: str | None
    cancel_url: str | None
    locale: str | None


class PayPalClient:
    """The Orders v2 and Payments v2 calls topup needs, each returning PayPal's JSON."""

    def __init__(self, client_id: str, client_secret: str, *, base_url: str | None,
                 test_mode: bool, timeout: float = 20.0) -> None:
        config = _Configuration(
            base_url or (SANDBOX_URL if test_mode else LIVE_URL),
            timeout=timeout, max_retries=0,
            environment=Environment.SANDBOX if test_mode else Environment.PRODUCTION,
            client_credentials_auth_credentials=ClientCredentialsAuthCredentials(
                o_auth_client_id=client_id, o_auth_client_secret=client_secret))
        self._sdk = PaypalServersdkClient(config=config)

    def create_order(self, spec: OrderSpec, request_id: str) -> dict[str, Any]:
        """``POST /v2/checkout/orders`` (intent CAPTURE), idempotent on ``request_id``."""
        unit = PurchaseUnitRequest(
            amount=AmountWithBreakdown(currency_code=spec.currency, value=spec.value),
            custom_id=spec.custom_id, invoice_id=spec.invoice_id,
            description=spec.description[:127])
        body = OrderRequest(intent=CheckoutPaymentIntent.CAPTURE, purchase_units=[unit],
                            payment_source=PaymentSource(paypal=PaypalWallet(
                                experience_context=_experience(spec))))
        return self._call(lambda: self._sdk.orders.create_order({
            "body": body, "paypal_request_id": request_id, "prefer": REPRESENTATION}))

    def get_order(self, order_id: str) -> dict[str, Any]:
        """``GET /v2/checkout/orders/{id}``."""
        return self._call(lambda: self._sdk.orders.get_order({"id": order_id}))

    def capture_order(self, order_id: str, request_id: str) -> dict[str, Any]:
        """``POST /v2/checkout/orders/{id}/capture``, idempotent on ``request_id``."""
        return self._call(lambda: self._sdk.orders.capture_order({
            "id": order_id, "paypal_request_id": request_id, "prefer": REPRESENTATION}))

    def refund_capture(self, capture_id: str, value: str | None, currency: str,
                       request_id: str) -> dict[str, Any]:
        """``POST /v2/payments/captures/{id}/refund``; ``value`` None refunds what is left."""
        body = (RefundRequest() if value is None else
                RefundRequest(amount=PayPalMoney(currency_code=currency, value=value)))
        return self._call(lambda: self._sdk.payments.refund_captured_payment({
            "capture_id": capture_id, "body": body, "paypal_request_id": request_id,
            "prefer": REPRESENTATION}))

    @staticmethod
    def _call(send: Callable[[], Any]) -> dict[str, Any]:
        with translated():
            response = send()
            text = response.text
        return _json_object(text)


def _experience(spec: OrderSpec) -> PaypalWalletExperienceContext:
    """Where PayPal sends the payer back; "Pay Now" because we capture on return."""
    extra: dict[str, Any] = {}
    if spec.return_url:
        extra["return_url"] = spec.return_url
        extra["cancel_url"] = spec.cancel_url or spec.return_url
    if spec.locale:
        extra["locale"] = spec.locale
    return PaypalWalletExperienceContext(
        user_action="PAY_NOW", shipping_preference="NO_SHIPPING", **extra)


def _json_object(text: str | bytes | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "")
    except (TypeError, ValueError) as exc:
        raise ProviderUnavailable("PayPal answered something that is not JSON") from exc
    if not isinstance(value, dict):
        raise ProviderUnavailable("PayPal answered JSON that is not an object")
    return value


@contextmanager
def translated() -> Iterator[None]:
    """Turn SDK, transport and decoding failures into ``payments.errors``."""
    try:
        yield
    except ApiException as exc:
        raise _refusal(exc) from exc
    except AuthValidationException as exc:
        raise ProviderUnavailable("PayPal refused our client credentials") from exc
    except (requests.RequestException, OSError) as exc:
        raise ProviderUnavailable(f"PayPal could not be reached: {type(exc).__name__}"
                                  ) from exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise ProviderUnavailable("PayPal's answer could not be read") from exc


def _refusal(exc: ApiException) -> ProviderUnavailable:
    status = int(getattr(exc, "response_code", 0) or 0)
    if status >= 500 or status in (0, 401, 403):
        return ProviderUnavailable(f"PayPal answered HTTP {status}")
    issue: str | None = None
    details = getattr(exc, "details", None) or []
    if details:
        issue = getattr(details[0], "issue", None)
    name = getattr(exc, "name", None) or "error"
    return PayPalRefused(f"PayPal refused the request ({status} {name}: {issue or '-'})",
                         status=status, issue=issue)
