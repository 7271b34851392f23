"""Bank transfer: the traveller transfers the amount to the operator's account, quoting the
order's ISO 11649 creditor reference; finance imports the bank statement, which settles the
orders it pays exactly (see ``importer``) and queues everything else for review.

Banks send no notifications, so ``parse_notification`` refuses everything; refunds are paid
out by finance from the bank account, so ``refund`` refuses too, saying so.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from topup.db.uow import Database
from topup.money import Money
from topup.orders.errors import OrderNotFound
from topup.orders.service import order_by_payment_ref
from topup.payments.errors import InvalidNotification, RefundFailed
from topup.payments.interfaces import (
    NextAction,
    Notification,
    PaymentRequest,
    PaymentStart,
    PaymentStatus,
    Refund,
)
from topup.payments.providers.bank.account import BankAccount
from topup.payments.providers.bank.reference import creditor_reference, reference_key
from topup.payments.providers.bank.tables import bank_statement_entries as entries

METHOD_DETAIL = "bank transfer"


class BankProvider:
    """Payment by bank transfer to the operator's account, matched by creditor reference."""

    name = "bank"
    currencies: frozenset[str] | None = None
    test_mode = False

    def __init__(self, db: Database, account: BankAccount, secret: str) -> None:
        self.db = db
        self.account = account
        self._key = reference_key(secret)

    def reference_for(self, order_id: int) -> str:
        """The creditor reference the payer quotes for ``order_id`` (stable per order)."""
        return creditor_reference(order_id, self._key)

    def start(self, request: PaymentRequest) -> PaymentStart:
        """The order's reference and everything the payer needs to make the transfer."""
        ref = self.reference_for(request.order_id)
        amount = Money(request.amount, request.currency)
        extra = {
            "iban": self.account.iban, "bic": self.account.bic,
            "account_name": self.account.account_name, "bank_name": self.account.bank_name,
            "amount": amount.text(), "currency": amount.currency,
        }
        return PaymentStart(ref, NextAction("bank_reference", ref, extra=extra))

    def query(self, provider_ref: str) -> PaymentStatus:
        """Succeeded once an imported entry paid the order exactly; pending until then.

        A pending answer carries the order's own amount, so a reconciliation pass that asks
        about a bank order leaves it waiting instead of reporting a mismatch.
        """
        with self.db.unit(readonly=True) as uow:
            paid = uow.conn.execute(select(entries.c.amount, entries.c.currency).where(
                entries.c.order_ref == provider_ref, entries.c.outcome == "credited",
            ).limit(1)).first()
            if paid is not None:
                return PaymentStatus(provider_ref, "succeeded", paid.amount, paid.currency,
                                     METHOD_DETAIL)
            try:
                order = order_by_payment_ref(uow, f"{self.name}:{provider_ref}")
            except OrderNotFound:
                return PaymentStatus(provider_ref, "pending", 0, "")
        return PaymentStatus(provider_ref, "pending", order.total.amount, order.currency)

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        """Banks send us nothing: every "notification" is refused and credits nothing."""
        raise InvalidNotification("bank transfers have no notifications; import a statement")

    def refund(self, provider_ref: str, amount: int, currency: str,
               idempotency_key: str) -> Refund:
        """Refused: bank refunds are paid out manually by finance (see docs/payments-bank.md)."""
        raise RefundFailed(
            "bank transfers cannot be refunded automatically; finance pays the money back "
            "by a manual transfer from the operator's bank account to the payer's account")
