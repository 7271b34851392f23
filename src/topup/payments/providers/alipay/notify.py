"""Alipay's asynchronous notification (``notify_url``): a form POST signed with RSA2.

Order of checks, nothing is read for meaning before the signature holds:

1. the raw body is decoded as ``application/x-www-form-urlencoded`` (UTF-8; a repeated
   field is refused, since the signature covers one value per key);
2. Alipay's RSA2 signature over the sorted ``k=v&…`` without ``sign`` and ``sign_type``;
3. freshness: ``notify_time`` (Beijing time, signed) within the configured age — Alipay
   retries for about 25 hours, each retry with its own ``notify_time``;
4. ``app_id`` (and ``seller_id`` when configured) are ours.

Then ``trade_status`` maps to a payment state; refund notifications and other types are
acknowledged and ignored. The answer Alipay expects is the literal text ``success``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

from topup.money import InvalidAmount
from topup.payments.errors import InvalidNotification
from topup.payments.interfaces import Ack, Notification, PaymentStatus
from topup.payments.providers.alipay.amounts import from_yuan
from topup.payments.providers.alipay.client import verify_notify
from topup.payments.providers.alipay.config import AlipayConfig

ACK = Ack(200, "success", "text/plain")
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps no daylight saving
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
FUTURE_SKEW = timedelta(minutes=10)
TRADE_STATES = {"TRADE_SUCCESS": "succeeded", "TRADE_FINISHED": "succeeded",
                "TRADE_CLOSED": "failed", "WAIT_BUYER_PAY": "pending"}
# Present only when a notification reports a refund rather than the payment itself.
REFUND_FIELDS = ("refund_fee", "gmt_refund", "out_biz_no")
MAX_BODY = 64 * 1024


def read_form(body: bytes) -> dict[str, str]:
    """The notification's fields, exactly as sent; anything malformed is refused."""
    if not body or len(body) > MAX_BODY:
        raise InvalidNotification("empty or oversized Alipay notification")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True,
                          encoding="utf-8", errors="strict")
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise InvalidNotification("the Alipay notification is not a UTF-8 form") from exc
    form = dict(pairs)
    if len(form) != len(pairs):
        raise InvalidNotification("a field is repeated in the Alipay notification")
    return form


def parse_notify_time(text: str) -> datetime:
    """``notify_time`` (``yyyy-MM-dd HH:mm:ss``, Beijing time) as an aware UTC datetime."""
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING).astimezone(UTC)
    except ValueError as exc:
        raise InvalidNotification("notify_time is missing or unreadable") from exc


def check_fresh(form: Mapping[str, str], max_age: timedelta, now: datetime) -> None:
    """Refuse a notification sent too long ago (or claiming to come from the future)."""
    sent = parse_notify_time(form.get("notify_time", ""))
    if sent < now - max_age:
        raise InvalidNotification("the Alipay notification is stale")
    if sent > now + FUTURE_SKEW:
        raise InvalidNotification("the Alipay notification is dated in the future")


def check_ours(form: Mapping[str, str], config: AlipayConfig) -> None:
    """The notification must be about our app (and our seller account, if configured)."""
    if form.get("app_id") != config.app_id:
        raise InvalidNotification("the Alipay notification is for another app_id")
    if config.seller_id and form.get("seller_id") != config.seller_id:
        raise InvalidNotification("the Alipay notification is for another seller_id")


def payment_status(form: Mapping[str, str]) -> PaymentStatus | None:
    """What a verified notification says about the payment; None when it is not about one."""
    if form.get("notify_type", "trade_status_sync") != "trade_status_sync":
        return None
    if any(form.get(name) for name in REFUND_FIELDS):
        return None
    state = TRADE_STATES.get(form.get("trade_status", ""))
    ref = form.get("out_trade_no", "")
    if state is None or not ref:
        return None
    try:
        amount = from_yuan(form.get("total_amount", ""))
    except InvalidAmount as exc:
        raise InvalidNotification("total_amount is not an amount in yuan") from exc
    return PaymentStatus(ref, state, amount, "CNY",
                         "alipay" if state == "succeeded" else None)


def parse(sdk: Any, config: AlipayConfig, body: bytes, now: datetime) -> Notification:
    """Verify one raw notification body, then read it (see the module docstring)."""
    form = read_form(body)
    sign = form.get("sign", "")
    if not sign:
        raise InvalidNotification("the Alipay notification carries no signature")
    if form.get("sign_type", "RSA2") != "RSA2":
        raise InvalidNotification("only RSA2 Alipay signatures are accepted")
    verify_notify(sdk, form, sign)
    check_fresh(form, config.notify_max_age, now)
    check_ours(form, config)
    status = payment_status(form)
    event_id = form.get("notify_id") or f"{form.get('out_trade_no')}:{form.get('trade_status')}"
    return Notification(event_id, status, ACK)
