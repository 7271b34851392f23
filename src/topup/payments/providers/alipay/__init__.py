"""Alipay (支付宝) through ``python-alipay-sdk``; see ``docs/payments-alipay.md``.

Settings (``TOPUP_ALIPAY_*``):

- ``APP_ID``                 the Alipay open-platform application id (required)
- ``APP_PRIVATE_KEY``        our RSA2 application private key, PEM or bare base64 (required)
- ``PUBLIC_KEY``             **Alipay's** RSA2 public key for that app (required)
- ``MODE``                   ``precreate`` (QR code, default), ``page`` (desktop redirect) or
                             ``wap`` (mobile browser redirect)
- ``SANDBOX``                ``true`` to use Alipay's sandbox gateway (test mode)
- ``GATEWAY``                override the ``gateway.do`` URL (a local peer in tests)
- ``SELLER_ID``              if set, notifications must name this seller (2088…)
- ``TRADE_PREFIX``           ``out_trade_no`` prefix, default ``topup_`` (letters, digits, _)
- ``TIMEOUT_SECONDS``        per request to the gateway, default 15
- ``NOTIFY_MAX_AGE_HOURS``   oldest ``notify_time`` accepted, default 48
"""

from __future__ import annotations

from topup.payments.providers.alipay.config import AlipayConfig, read_config
from topup.payments.providers.alipay.provider import AlipayProvider
from topup.payments.registry import ProviderContext


def from_settings(ctx: ProviderContext) -> AlipayProvider:
    """Build the provider from ``ctx.env``; a missing or unreadable setting is named."""
    return AlipayProvider(read_config(ctx.env, ctx.require))


__all__ = ["AlipayConfig", "AlipayProvider", "from_settings"]
