"""The boundary to ``python-alipay-sdk``: build the SDK, call it, translate what it raises.

The SDK signs each request (RSA2 with our app key), sends it to ``gateway.do`` and checks
Alipay's RSA2 signature over the answer. Whatever it or the network raises becomes
``ProviderUnavailable`` here; what Alipay *answers* (``code`` 10000 or a business refusal)
is returned as an ``Answer`` for the provider to judge per call.
"""

from __future__ import annotations

import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from alipay.utils import AliPayConfig

from topup.payments.errors import InvalidNotification, ProviderUnavailable
from topup.payments.providers.alipay.config import AlipayConfig
from topup.payments.registry import ProviderConfigError

SUCCESS = "10000"
# What the SDK or the transport may raise: HTTP, socket and TLS errors are OSErrors, a
# garbled answer raises ValueError (JSON), KeyError/AttributeError/TypeError (its shape).
TRANSPORT_ERRORS = (AliPayException, OSError, ValueError, KeyError, AttributeError, TypeError)
MAX_DETAIL = 300


@dataclass(frozen=True)
class Answer:
    """One verified answer of ``gateway.do``: ``ok`` when ``code`` is 10000."""

    fields: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        return str(self.fields.get("code", "")) == SUCCESS

    @property
    def sub_code(self) -> str:
        return str(self.fields.get("sub_code", ""))

    def text(self, name: str) -> str:
        """A field as text ('' when absent)."""
        value = self.fields.get(name)
        return "" if value is None else str(value)

    def reason(self) -> str:
        """Alipay's own words for a refusal, for logs and error details."""
        parts = (self.text("code"), self.sub_code, self.text("sub_msg") or self.text("msg"))
        return " ".join(p for p in parts if p)


def build_sdk(config: AlipayConfig) -> Any:
    """The SDK client, pointed at the configured gateway (no network at construction)."""
    try:
        sdk = AliPay(appid=config.app_id, app_notify_url=None,
                     app_private_key_string=config.app_private_key,
                     alipay_public_key_string=config.alipay_public_key, sign_type="RSA2",
                     config=AliPayConfig(timeout=config.timeout_seconds))
    except (AliPayException, ValueError, TypeError, IndexError) as exc:
        raise ProviderConfigError("the Alipay SDK refused the configured keys") from exc
    # The SDK has no public option for its URL; overriding ``_gateway`` is how it is pointed
    # at the sandbox's or a local peer's ``gateway.do`` (shown to work with 3.4).
    sdk._gateway = config.gateway
    return sdk


def call(action: str, method: Callable[..., Any], **params: Any) -> Answer:
    """Run one signed gateway call; any SDK or network failure is ProviderUnavailable."""
    try:
        result = method(**params)
    except AliPayValidationError as exc:
        raise ProviderUnavailable(f"Alipay {action}: the answer's signature does not verify"
                                  ) from exc
    except TRANSPORT_ERRORS as exc:
        raise ProviderUnavailable(f"Alipay {action} failed: {str(exc)[:MAX_DETAIL]}") from exc
    if not isinstance(result, Mapping):
        raise ProviderUnavailable(f"Alipay {action}: unexpected answer")
    return Answer(result)


def signed_query(action: str, method: Callable[..., Any], **params: Any) -> str:
    """The signed query string of a browser-side call (page or wap pay); no network."""
    try:
        query = method(**params)
    except TRANSPORT_ERRORS as exc:
        raise ProviderUnavailable(f"Alipay {action} could not be signed") from exc
    if not isinstance(query, str) or not query:
        raise ProviderUnavailable(f"Alipay {action}: the SDK built no query")
    return query


def verify_notify(sdk: Any, fields: Mapping[str, str], sign: str) -> None:
    """Check Alipay's RSA2 signature over the sorted ``k=v`` of ``fields`` (no sign_type).

    The SDK's ``verify`` mutates the dict it is given, so it gets a fresh copy.
    """
    unsigned = {k: v for k, v in fields.items() if k not in ("sign", "sign_type")}
    try:
        good = sdk.verify(unsigned, sign)
    except (AliPayException, binascii.Error, ValueError, TypeError) as exc:
        raise InvalidNotification("the Alipay signature is unreadable") from exc
    if not good:
        raise InvalidNotification("the Alipay signature does not match")
