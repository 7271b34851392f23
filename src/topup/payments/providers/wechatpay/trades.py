"""Our ``out_trade_no`` at WeChat Pay, and how a WeChat Pay trade maps onto PaymentStatus.

``out_trade_no`` (the provider_ref) is ``<prefix><order id, 6+ digits>_<amount in fen>``, e.g.
``TU000042_10000``: unique per order, stable across retries of ``start`` (so WeChat Pay
answers a repeated Native order with the same ``code_url``), and carrying the order's amount
because WeChat Pay omits ``amount`` from queries until the trade is paid. Money is credited
only from WeChat Pay's own ``amount.total``, never from the reference.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from topup.payments.errors import ProviderUnavailable
from topup.payments.interfaces import PaymentStatus

# trade_state -> our state (WeChat Pay API v3, "查询订单" / "支付成功回调通知").
STATES = {
    "SUCCESS": "succeeded", "REFUND": "succeeded",  # REFUND: paid, then (partly) refunded
    "NOTPAY": "pending", "USERPAYING": "pending",
    "CLOSED": "failed", "PAYERROR": "failed", "REVOKED": "failed",
}
MAX_LENGTH = 32  # out_trade_no is string(6..32) of [0-9A-Za-z_-*]
_BANK_TYPE = re.compile(r"[A-Z0-9_]{1,32}")


@dataclass(frozen=True)
class TradeRef:
    """One order's trade at WeChat Pay."""

    prefix: str
    order_id: int
    amount: int  # fen == CNY minor units

    @property
    def out_trade_no(self) -> str:
        return f"{self.prefix}{self.order_id:06d}_{self.amount}"

    @classmethod
    def parse(cls, prefix: str, text: str) -> TradeRef | None:
        """The reference, or None when ``text`` is not one of ours."""
        found = re.fullmatch(rf"{re.escape(prefix)}(\d{{6,}})_(\d+)", text or "")
        if found is None:
            return None
        return cls(prefix, int(found.group(1)), int(found.group(2)))


def status_of(ref: TradeRef, trade: Mapping[str, Any]) -> PaymentStatus | None:
    """Where the trade stands, or None for a ``trade_state`` we do not act on."""
    state = STATES.get(str(trade.get("trade_state", "")))
    if state is None:
        return None
    amount = trade.get("amount")
    if not isinstance(amount, dict):
        amount = {}
    total, currency = amount.get("total"), amount.get("currency") or "CNY"
    if not isinstance(total, int) or isinstance(total, bool):
        if state == "succeeded":
            raise ProviderUnavailable("WeChat Pay reported a paid trade without its amount")
        total = ref.amount  # unpaid trades come without amount; nothing is credited on them
    bank = str(trade.get("bank_type") or "")
    detail = f"wechatpay {bank}" if state == "succeeded" and _BANK_TYPE.fullmatch(bank) else None
    return PaymentStatus(ref.out_trade_no, state, total, str(currency), detail)


_REFUND_NO = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")


def refund_no(idempotency_key: str) -> str:
    """``out_refund_no`` for our idempotency key: the key itself when WeChat Pay accepts it
    (1-64 of ``[0-9A-Za-z_-|*@]``), else a stable digest of it, so a retry is the same refund."""
    if _REFUND_NO.fullmatch(idempotency_key):
        return idempotency_key
    return "topup-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
