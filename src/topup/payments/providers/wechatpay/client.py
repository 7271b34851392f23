"""The WeChat Pay API v3 over the ``wechatpayv3`` SDK, with every SDK failure translated here.

The SDK signs each request (``WECHATPAY2-SHA256-RSA2048`` with the merchant key) and checks
each 2xx answer's signature against the WeChat Pay public key. It runs in public-key mode: it
never downloads platform certificates, and an answer signed under an unknown serial is
rejected instead of triggering a download.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from wechatpayv3 import WeChatPay, WeChatPayType

from topup.payments.errors import PaymentDeclined, ProviderUnavailable, RefundFailed
from topup.payments.providers.wechatpay.config import WeChatPayConfig
from topup.payments.registry import ProviderConfigError

# Refusals that mean our own set-up is wrong, not that the payer or payment was refused.
SETUP_ERRORS = frozenset({"SIGN_ERROR", "NOAUTH", "APPID_MCHID_NOT_MATCH", "MCH_NOT_EXISTS",
                          "PARAM_ERROR", "APPID_NOT_EXIST", "MCHID_NOT_EXIST"})


class Answer:
    """One HTTP answer from WeChat Pay: status and decoded JSON (empty for 204)."""

    def __init__(self, status: int, data: dict[str, Any]) -> None:
        self.status = status
        self.data = data

    @property
    def code(self) -> str:
        return str(self.data.get("code", ""))

    @property
    def reason(self) -> str:
        """WeChat Pay's error code and message, for logs and error details."""
        return f"HTTP {self.status} {self.code}: {self.data.get('message', '')}".strip()

    @property
    def setup_error(self) -> bool:
        return self.status == 401 or self.code in SETUP_ERRORS


def _no_certificate_download() -> None:
    """Stands in for the SDK's certificate download: public-key mode never fetches any."""


class Gateway:
    """The three v3 calls topup makes: Native order, query by out_trade_no, refund."""

    def __init__(self, config: WeChatPayConfig) -> None:
        private_pem, public_pem = config.sdk_keys()
        try:
            wx = WeChatPay(
                wechatpay_type=WeChatPayType.NATIVE, mchid=config.mchid,
                private_key=private_pem, cert_serial_no=config.cert_serial_no,
                appid=config.appid, apiv3_key=config.apiv3_key, notify_url=config.notify_url,
                timeout=(min(5.0, config.timeout_seconds), config.timeout_seconds),
                public_key=public_pem, public_key_id=config.public_key_id)
        except Exception as exc:  # the SDK raises bare Exception for bad settings
            raise ProviderConfigError(f"WeChat Pay SDK rejected the settings: {exc}") from exc
        wx._core._gate_way = config.gateway
        wx._core._update_certificates = _no_certificate_download
        self._wx = wx

    def create_native(self, *, description: str, out_trade_no: str, total: int,
                      notify_url: str) -> str:
        """``POST /v3/pay/transactions/native``; returns the ``code_url`` to show as a QR."""
        answer = self._call("Native order", self._wx.pay, description=description,
                            out_trade_no=out_trade_no, notify_url=notify_url,
                            amount={"total": total, "currency": "CNY"})
        if answer.status // 100 != 2:
            if answer.setup_error:
                raise ProviderUnavailable(f"WeChat Pay refused our request: {answer.reason}")
            raise PaymentDeclined(f"WeChat Pay declined the order: {answer.reason}")
        code_url = answer.data.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderUnavailable("WeChat Pay answered a Native order without code_url")
        return code_url

    def find_trade(self, out_trade_no: str) -> dict[str, Any] | None:
        """``GET /v3/pay/transactions/out-trade-no/{no}?mchid=``; None if WeChat has none."""
        answer = self._call("order query", self._wx.query, out_trade_no=out_trade_no)
        if answer.status == 404:
            return None
        if answer.status // 100 != 2:
            raise ProviderUnavailable(f"WeChat Pay order query failed: {answer.reason}")
        return answer.data

    def create_refund(self, *, out_trade_no: str, out_refund_no: str, refund: int,
                      total: int) -> dict[str, Any]:
        """``POST /v3/refund/domestic/refunds``; the same ``out_refund_no`` is one refund."""
        answer = self._call("refund", self._wx.refund, out_refund_no=out_refund_no,
                            out_trade_no=out_trade_no,
                            amount={"refund": refund, "total": total, "currency": "CNY"})
        if answer.status // 100 != 2:
            if answer.setup_error:
                raise ProviderUnavailable(f"WeChat Pay refused our request: {answer.reason}")
            raise RefundFailed(f"WeChat Pay refused the refund: {answer.reason}")
        return answer.data

    @staticmethod
    def _call(what: str, fn: Callable[..., Any], **kwargs: Any) -> Answer:
        """Run one SDK call; transport, signature and server failures become
        ProviderUnavailable, refusals (4xx) are returned for the caller to name."""
        try:
            status, body = fn(**kwargs)
        except Exception as exc:  # requests errors, and the SDK's bare Exception
            raise ProviderUnavailable(f"WeChat Pay {what} failed: {exc}") from exc
        data = _json(body)
        if status >= 500 or status == 429 or (status // 100 == 2 and data is None):
            raise ProviderUnavailable(f"WeChat Pay {what} failed: HTTP {status}")
        return Answer(int(status), data or {})


def _json(body: Any) -> dict[str, Any] | None:
    if body in (None, b"", ""):
        return {}
    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return None
    return data if isinstance(data, dict) else None
