"""Alipay (支付宝) as a topup payment provider, through ``python-alipay-sdk``.

The flow: ``start`` creates the trade — ``alipay.trade.precreate`` hands back a QR payload
the payer scans with the Alipay app (mode ``precreate``), or a signed ``page.pay`` /
``wap.pay`` link sends the payer's browser to Alipay (modes ``page`` / ``wap``). Alipay then
POSTs a signed form to our notify URL; ``query`` (``alipay.trade.query``) is the fallback when
no notification comes. ``provider_ref`` is always our ``out_trade_no``,
``<prefix><order id>``, so a retried ``start`` re-creates the same trade, never a second one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from topup.money import InvalidAmount
from topup.payments.errors import PaymentDeclined, ProviderUnavailable, RefundFailed
from topup.payments.interfaces import (
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
)
from topup.payments.providers.alipay import notify
from topup.payments.providers.alipay.amounts import CURRENCY, from_yuan, to_yuan
from topup.payments.providers.alipay.client import Answer, build_sdk, call, signed_query
from topup.payments.providers.alipay.config import AlipayConfig

BUSINESS_REFUSAL = "40004"  # Alipay's "Business Failed"; other codes are system or setup errors
NOT_CREATED = "ACQ.TRADE_NOT_EXIST"
SUBJECT_LIMIT = 128
# Alipay rejects some punctuation in subjects; out_request_no is kept to a safe alphabet.
SUBJECT_UNSAFE = re.compile(r"[/=&\\\"'<>%#?]+")
REQUEST_NO = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def subject_of(description: str) -> str:
    """The trade subject Alipay shows the payer: plain text, at most 128 characters."""
    text = " ".join(SUBJECT_UNSAFE.sub(" ", description).split())
    return text[:SUBJECT_LIMIT] or "topup"


def request_no_of(idempotency_key: str) -> str:
    """Our idempotency key as ``out_request_no`` (a stable digest when it will not fit)."""
    if REQUEST_NO.match(idempotency_key):
        return idempotency_key
    return "k_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def _unavailable(action: str, answer: Answer) -> ProviderUnavailable:
    return ProviderUnavailable(f"Alipay {action} failed: {answer.reason()}",
                               sub_code=answer.sub_code)


class AlipayProvider:
    """Payments in CNY through Alipay; ``test_mode`` unless it talks to the production gateway."""

    name = "alipay"
    currencies: frozenset[str] | None = frozenset({"CNY"})
    test_mode: bool

    def __init__(self, config: AlipayConfig, *, sdk: Any | None = None,
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.config = config
        self.test_mode = config.test_mode
        self._sdk = sdk if sdk is not None else build_sdk(config)
        self._now = now

    def trade_no(self, order_id: int) -> str:
        """The ``out_trade_no`` (and our ``provider_ref``) of an order."""
        return f"{self.config.trade_prefix}{order_id}"

    def start(self, request: PaymentRequest) -> PaymentStart:
        """Create the trade: a QR payload (precreate) or a redirect (page / wap pay)."""
        try:
            total = to_yuan(request.amount, request.currency)
        except ValueError as exc:
            raise PaymentDeclined(str(exc), currency=request.currency) from exc
        ref = self.trade_no(request.order_id)
        params = {"subject": subject_of(request.description), "out_trade_no": ref,
                  "total_amount": total, "notify_url": request.notify_url}
        if self.config.mode == "precreate":
            return PaymentStart(ref, NextAction("qr", self._precreate(params)))
        method = (self._sdk.api_alipay_trade_page_pay if self.config.mode == "page"
                  else self._sdk.api_alipay_trade_wap_pay)
        query = signed_query(f"{self.config.mode} pay", method, return_url=request.return_url,
                             **params)
        return PaymentStart(ref, NextAction("redirect", f"{self.config.gateway}?{query}"))

    def _precreate(self, params: Mapping[str, Any]) -> str:
        answer = call("precreate", self._sdk.api_alipay_trade_precreate, **params)
        if answer.text("code") == BUSINESS_REFUSAL:
            raise PaymentDeclined(f"Alipay refused the payment: {answer.reason()}",
                                  sub_code=answer.sub_code)
        if not answer.ok:
            raise _unavailable("precreate", answer)
        qr = answer.text("qr_code")
        if not qr:
            raise ProviderUnavailable("Alipay precreate answered without a qr_code")
        return qr

    def query(self, provider_ref: str) -> PaymentStatus:
        """Where the trade stands (``alipay.trade.query``).

        Before the payer scans the QR code Alipay knows no trade (``ACQ.TRADE_NOT_EXIST``):
        nothing is paid yet, so the payment is pending (its amount unknown, reported as 0) and
        the order may expire at its time like any other.
        """
        answer = call("query", self._sdk.api_alipay_trade_query, out_trade_no=provider_ref)
        if answer.sub_code == NOT_CREATED:
            return PaymentStatus(provider_ref, "pending", 0, "CNY")
        if not answer.ok:
            raise _unavailable("query", answer)
        state = notify.TRADE_STATES.get(answer.text("trade_status"))
        if state is None or answer.text("out_trade_no") not in ("", provider_ref):
            raise ProviderUnavailable(f"Alipay query gave an unusable answer: "
                                      f"{answer.text('trade_status')!r}")
        try:
            amount = from_yuan(answer.text("total_amount"))
        except InvalidAmount as exc:
            raise ProviderUnavailable("Alipay query gave no readable total_amount") from exc
        return PaymentStatus(provider_ref, state, amount, CURRENCY,
                             "alipay" if state == "succeeded" else None)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify Alipay's RSA2 signature over the raw form body, then read it.

        Alipay signs the body only, so ``headers`` are not consulted. The ack is the literal
        text ``success``; any other answer makes Alipay retry.
        """
        return notify.parse(self._sdk, self.config, body, self._now())

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Refund all or part of a paid trade; ``out_request_no`` is the idempotency key.

        A replay of the same key moves no money twice (Alipay answers ``fund_change`` N);
        the refund's state is then confirmed with ``alipay.trade.fastpay.refund.query``.
        """
        try:
            text = to_yuan(amount, currency)
        except ValueError as exc:
            raise RefundFailed(str(exc), currency=currency) from exc
        request_no = request_no_of(idempotency_key)
        answer = call("refund", self._sdk.api_alipay_trade_refund, refund_amount=text,
                      out_trade_no=provider_ref, out_request_no=request_no)
        if answer.text("code") == BUSINESS_REFUSAL:
            raise RefundFailed(f"Alipay refused the refund: {answer.reason()}",
                               sub_code=answer.sub_code)
        if not answer.ok:
            raise _unavailable("refund", answer)
        state = "succeeded" if answer.text("fund_change") == "Y" else \
            self._refund_state(provider_ref, request_no, text)
        return Refund(provider_ref, request_no, amount, CURRENCY, state)

    def _refund_state(self, provider_ref: str, request_no: str, text: str) -> str:
        """State of an earlier refund request (a replay, or one still in progress)."""
        try:
            answer = call("refund query", self._sdk.api_alipay_trade_fastpay_refund_query,
                          out_request_no=request_no, out_trade_no=provider_ref)
        except ProviderUnavailable:
            return "pending"  # accepted by Alipay; its outcome is simply not known yet
        if not answer.ok or answer.text("refund_status") != "REFUND_SUCCESS":
            return "pending"
        if answer.text("refund_amount") not in ("", text):
            raise RefundFailed(f"refund request {request_no} was for "
                               f"{answer.text('refund_amount')} CNY, not {text}")
        return "succeeded"
