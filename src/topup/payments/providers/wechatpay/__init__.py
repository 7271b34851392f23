"""WeChat Pay (API v3, Native QR payments in CNY) through the ``wechatpayv3`` SDK.

Settings (see docs/payments-wechatpay.md): ``TOPUP_WECHATPAY_MCHID``, ``_APPID``,
``_PRIVATE_KEY``, ``_CERT_SERIAL_NO``, ``_APIV3_KEY``, ``_PUBLIC_KEY``, ``_PUBLIC_KEY_ID``;
optional ``_GATEWAY``, ``_NOTIFY_URL``, ``_TRADE_PREFIX``, ``_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

from topup.payments.providers.wechatpay.config import WeChatPayConfig
from topup.payments.providers.wechatpay.provider import WeChatPayProvider
from topup.payments.registry import ProviderContext


def from_settings(ctx: ProviderContext) -> WeChatPayProvider:
    """Build the provider from ``TOPUP_WECHATPAY_*``; no network is touched here."""
    return WeChatPayProvider(WeChatPayConfig.from_env(ctx))


__all__ = ["WeChatPayConfig", "WeChatPayProvider", "from_settings"]
