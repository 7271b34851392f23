"""The bank transfer payment provider: ISO 11649 creditor references, camt.053 / CSV
statement import, automatic settlement of exact payments, and a review queue for finance.

Settings: TOPUP_BANK_ACCOUNT_NAME and TOPUP_BANK_IBAN (required), TOPUP_BANK_BIC and
TOPUP_BANK_NAME (shown to payers when set). See docs/payments-bank.md.
"""

from __future__ import annotations

from topup.payments.providers.bank.account import BankAccount, account_from
from topup.payments.providers.bank.errors import (
    BankTransferError,
    ReviewItemNotFound,
    ReviewNotResolvable,
    StatementRejected,
)
from topup.payments.providers.bank.importer import ImportResult, import_statement
from topup.payments.providers.bank.provider import BankProvider
from topup.payments.providers.bank.review import (
    ReviewItem,
    get_review_item,
    resolve_review,
    review_queue,
)
from topup.payments.providers.bank.tables import TABLES
from topup.payments.registry import ProviderContext


def from_settings(ctx: ProviderContext) -> BankProvider:
    """Build the provider for the configured receiving account (validated IBAN and BIC)."""
    return BankProvider(ctx.db, account_from(ctx), ctx.settings.secret_key)


__all__ = [
    "TABLES",
    "BankAccount",
    "BankProvider",
    "BankTransferError",
    "ImportResult",
    "ReviewItem",
    "ReviewItemNotFound",
    "ReviewNotResolvable",
    "StatementRejected",
    "from_settings",
    "get_review_item",
    "import_statement",
    "resolve_review",
    "review_queue",
]
