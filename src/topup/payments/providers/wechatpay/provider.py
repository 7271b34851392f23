"""WeChat Pay (API v3, Native payment): the payer scans a QR code with WeChat and pays in CNY.

``start`` creates a Native order and hands back its ``code_url`` as a QR next action;
WeChat Pay then POSTs a signed, encrypted notification to
``/api/v1/webhooks/wechatpay``; ``query`` is the fallback when none arrives; ``refund``
gives back all or part of a paid trade. WeChat Pay has no v3 sandbox, so test mode means
the gateway points somewhere else (a local peer).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from topup.payments.errors import PaymentDeclined, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import (
    Ack,
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
)
from topup.payments.providers.wechatpay import notify
from topup.payments.providers.wechatpay.client import Gateway
from topup.payments.providers.wechatpay.config import WeChatPayConfig
from topup.payments.providers.wechatpay.trades import (
    MAX_LENGTH,
    STATES,
    TradeRef,
    refund_no,
    status_of,
)

log = logging.getLogger("topup.payments.wechatpay")

# "接收成功：HTTP应答状态码需返回200或204，无需返回应答报文" (v3 payment notification docs).
ACK = Ack(204, "")
CURRENCY = "CNY"  # domestic Native payments are in CNY only; fen are CNY minor units
DESCRIPTION_LENGTH = 127  # description is string(127)
REFUND_STATES = {"SUCCESS": "succeeded", "PROCESSING": "pending"}


class WeChatPayProvider:
    """WeChat Pay for one merchant id (``mchid``) and app id, in public-key mode."""

    name = "wechatpay"
    currencies: frozenset[str] | None = frozenset({CURRENCY})

    def __init__(self, config: WeChatPayConfig, gateway: Gateway | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.config = config
        self.test_mode = config.test_mode
        self._gateway = gateway or Gateway(config)
        self._key = config.verifying_key()
        self._now = now  # wall-clock time: WeChat Pay signs with real time

    def start(self, request: PaymentRequest) -> PaymentStart:
        """A Native order keyed by the order (a retry gets the same ``code_url``)."""
        if request.currency != CURRENCY:
            raise PaymentDeclined(
                f"WeChat Pay collects CNY only; this order is in {request.currency}",
                currency=request.currency)
        ref = TradeRef(self.config.trade_prefix, request.order_id, request.amount)
        if request.amount <= 0 or len(ref.out_trade_no) > MAX_LENGTH:
            raise PaymentDeclined("amount out of range for WeChat Pay")
        notify_url = self.config.notify_url or request.notify_url
        if not notify_url:
            raise ProviderUnavailable("no notify URL for WeChat Pay (set TOPUP_PUBLIC_URL)")
        description = (request.description or "topup").strip()[:DESCRIPTION_LENGTH]
        code_url = self._gateway.create_native(
            description=description, out_trade_no=ref.out_trade_no, total=request.amount,
            notify_url=notify_url)
        return PaymentStart(ref.out_trade_no, NextAction("qr", code_url))

    def query(self, provider_ref: str) -> PaymentStatus:
        """Ask WeChat Pay for the trade (``GET …/out-trade-no/{no}?mchid=``)."""
        ref = self._ref(provider_ref)
        trade = self._gateway.find_trade(ref.out_trade_no)
        if trade is None:
            raise ProviderUnavailable(f"WeChat Pay has no trade {provider_ref}")
        if not self._ours(trade, ref):
            raise ProviderUnavailable(f"WeChat Pay answered about another trade for {ref}")
        status = status_of(ref, trade)
        if status is None:
            raise ProviderUnavailable(f"unknown WeChat Pay trade_state {trade.get('trade_state')}")
        return status

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify over the raw body (serial, signature, age), then decrypt and read."""
        notify.verify(headers, body, self._key, self.config.public_key_id, self._now())
        event = notify.read_event(body)
        event_id = str(event["id"])
        if not str(event.get("event_type", "")).startswith("TRANSACTION."):
            return Notification(event_id, None, ACK)  # refunds etc.: acknowledged, not ours
        trade = notify.decrypt(event.get("resource"), self.config.apiv3_key)
        ref = TradeRef.parse(self.config.trade_prefix, str(trade.get("out_trade_no", "")))
        if ref is None or not self._ours(trade, ref):
            log.info("WeChat Pay notification %s is about a trade that is not ours", event_id)
            return Notification(event_id, None, ACK)
        return Notification(event_id, status_of(ref, trade), ACK)

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """``POST /v3/refund/domestic/refunds`` with ``out_refund_no`` from our key."""
        if currency != CURRENCY or amount <= 0:
            raise RefundFailed(f"WeChat Pay refunds a positive amount of CNY, not {currency}")
        ref = TradeRef.parse(self.config.trade_prefix, provider_ref)
        if ref is None:
            raise RefundFailed(f"{provider_ref!r} is not a WeChat Pay trade of ours")
        trade = self._gateway.find_trade(ref.out_trade_no)
        if trade is None or STATES.get(str(trade.get("trade_state"))) != "succeeded":
            raise RefundFailed(f"WeChat Pay trade {provider_ref} is not paid")
        total = _amount(trade, "total")
        answer = self._gateway.create_refund(
            out_trade_no=ref.out_trade_no, out_refund_no=refund_no(idempotency_key),
            refund=amount, total=total)
        return self._refund_of(provider_ref, amount, answer)

    @staticmethod
    def _refund_of(provider_ref: str, amount: int, answer: Mapping[str, Any]) -> Refund:
        state = REFUND_STATES.get(str(answer.get("status")))
        if state is None:
            raise RefundFailed(f"WeChat Pay refund is {answer.get('status')}")
        refund_id = answer.get("refund_id")
        if not isinstance(refund_id, str) or not refund_id:
            raise ProviderUnavailable("WeChat Pay answered a refund without refund_id")
        refunded = _amount(answer, "refund")
        if refunded != amount:
            raise RefundFailed(
                f"this idempotency key was already used for a refund of {refunded} fen")
        return Refund(provider_ref, refund_id, refunded, CURRENCY, state)

    def _ref(self, provider_ref: str) -> TradeRef:
        ref = TradeRef.parse(self.config.trade_prefix, provider_ref)
        if ref is None:
            raise ProviderUnavailable(f"{provider_ref!r} is not a WeChat Pay trade of ours")
        return ref

    def _ours(self, trade: Mapping[str, Any], ref: TradeRef) -> bool:
        """Same merchant, same app, same trade: anything else is not for this platform."""
        return (trade.get("mchid") == self.config.mchid
                and trade.get("appid", self.config.appid) == self.config.appid
                and trade.get("out_trade_no") == ref.out_trade_no)


def _amount(data: Mapping[str, Any], key: str) -> int:
    amount = data.get("amount")
    value = amount.get(key) if isinstance(amount, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProviderUnavailable(f"WeChat Pay answered without amount.{key}")
    return value
