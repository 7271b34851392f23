"""The sandbox: a test-mode payment provider inside topup, so the demo works with no network.

It behaves like a remote PSP: ``start`` hands out a reference and a redirect to its own payment
page (``/sandbox/pay/<ref>``), where the payer approves, declines, passes a 3-D Secure
challenge, or approves silently ("delay": no notification, only a status query finds it).
Decisions are delivered as notifications signed like Stripe's (HMAC-SHA256 over
``"<t>.<body>"``, 300 s tolerance) through the same webhook path as every real provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping

from sqlalchemy import select, update

from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.payments.errors import InvalidNotification, RefundFailed
from topup.payments.interfaces import (
    Ack,
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
)
from topup.payments.providers.sandbox.tables import sandbox_payments, sandbox_refunds

TOLERANCE_SECONDS = 300
HEADER = "sandbox-signature"


class SandboxProvider:
    """Test-mode payments; every page and answer says so."""

    name = "sandbox"
    currencies: frozenset[str] | None = None
    test_mode = True

    def __init__(self, db: Database, secret: str, public_url: str) -> None:
        self.db = db
        self._key = hmac.new(secret.encode(), b"sandbox-webhook", hashlib.sha256).digest()
        self.public_url = public_url

    def start(self, request: PaymentRequest) -> PaymentStart:
        """A reference derived from the idempotency key (so retries get the same payment)."""
        digest = hmac.new(self._key, request.idempotency_key.encode(), hashlib.sha256)
        ref = f"sbx_{request.order_id}_{digest.hexdigest()[:16]}"
        return PaymentStart(ref, NextAction("redirect", f"{self.public_url}/sandbox/pay/{ref}"))

    def query(self, provider_ref: str) -> PaymentStatus:
        """Pending until the payer decided on the sandbox page."""
        with self.db.unit(readonly=True) as uow:
            row = uow.conn.execute(select(sandbox_payments).where(
                sandbox_payments.c.ref == provider_ref)).first()
        if row is None:
            return PaymentStatus(provider_ref, "pending", 0, "")
        return PaymentStatus(provider_ref, row.state, row.amount, row.currency,
                             "sandbox card 4242" if row.state == "succeeded" else None)

    def decide(self, ref: str, state: str, amount: int, currency: str) -> bytes:
        """Record the payer's decision (first one wins); returns the notification body."""
        self.db.transact(lambda uow: uow.conn.execute(insert_ignore(uow, sandbox_payments, {
            "ref": ref, "state": state, "amount": amount, "currency": currency,
            "refunded": 0, "updated_at": uow.now}, ["ref"])), what="sandbox decision")
        status = self.query(ref)
        event = {"id": f"evt_{secrets.token_hex(8)}", "type": f"payment.{status.state}",
                 "data": {"ref": ref, "amount": status.amount, "currency": status.currency}}
        return json.dumps(event, separators=(",", ":")).encode()

    def sign(self, body: bytes, at: int | None = None) -> dict[str, str]:
        """Headers for a notification, as the sandbox's sender signs them."""
        t = str(at if at is not None else int(time.time()))
        mac = hmac.new(self._key, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        return {HEADER: f"t={t},v1={mac}", "content-type": "application/json"}

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Verify the signature and its age over the raw body, then read the event."""
        lowered = {k.lower(): v for k, v in headers.items()}
        parts = dict(p.split("=", 1) for p in lowered.get(HEADER, "").split(",") if "=" in p)
        t, given = parts.get("t", ""), parts.get("v1", "")
        if not t.isdigit() or not given:
            raise InvalidNotification("missing sandbox signature")
        mac = hmac.new(self._key, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, given):
            raise InvalidNotification("sandbox signature does not match")
        if abs(time.time() - int(t)) > TOLERANCE_SECONDS:
            raise InvalidNotification("sandbox signature is too old")
        try:  # signed is not well-formed: a missing member is the sender's error, not ours
            event = json.loads(body)
            state = {"payment.succeeded": "succeeded", "payment.failed": "failed"}.get(
                event["type"])
            data = event["data"] if state else {}
            status = PaymentStatus(str(data["ref"]), state, int(data["amount"]),
                                   str(data["currency"]),
                                   "sandbox card 4242" if state == "succeeded" else None
                                   ) if state else None
            return Notification(str(event["id"]), status, Ack(200, "ok"))
        except (ValueError, KeyError, TypeError, OverflowError):
            raise InvalidNotification("the signed event lacks a member or has a wrong one"
                                      ) from None

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Give back part or all of a succeeded sandbox payment, once per idempotency key."""
        def work(uow: UnitOfWork) -> Refund:
            claimed = uow.conn.execute(insert_ignore(uow, sandbox_refunds, {
                "refund_ref": idempotency_key, "ref": provider_ref, "amount": amount,
                "currency": currency}, ["refund_ref"]).returning(sandbox_refunds.c.ref)).first()
            if claimed is None:
                return self._earlier_refund(uow, idempotency_key)
            done = uow.conn.execute(update(sandbox_payments).where(
                sandbox_payments.c.ref == provider_ref, sandbox_payments.c.state == "succeeded",
                sandbox_payments.c.currency == currency,
                sandbox_payments.c.refunded + amount <= sandbox_payments.c.amount,
            ).values(refunded=sandbox_payments.c.refunded + amount)).rowcount
            if not done:
                raise RefundFailed("nothing refundable for that amount in the sandbox")
            return Refund(provider_ref, idempotency_key, amount, currency, "succeeded")

        return self.db.transact(work, what="sandbox refund")

    @staticmethod
    def _earlier_refund(uow: UnitOfWork, key: str) -> Refund:
        row = uow.conn.execute(select(sandbox_refunds).where(
            sandbox_refunds.c.refund_ref == key)).one()
        return Refund(row.ref, key, row.amount, row.currency, "succeeded")
