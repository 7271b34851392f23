"""The operator's receiving bank account, read from ``TOPUP_BANK_*`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from stdnum import bic as bic_number
from stdnum import iban as iban_number
from stdnum.exceptions import ValidationError

from topup.payments.registry import ProviderConfigError, ProviderContext


@dataclass(frozen=True)
class BankAccount:
    """Where travellers send their transfers; shown to them with every bank order."""

    account_name: str
    iban: str  # compact, validated
    bic: str = ""
    bank_name: str = ""


def account_from(ctx: ProviderContext) -> BankAccount:
    """The account from TOPUP_BANK_ACCOUNT_NAME, _IBAN (both required), _BIC and _NAME."""
    name = ctx.require("TOPUP_BANK_ACCOUNT_NAME")
    iban_text = ctx.require("TOPUP_BANK_IBAN")
    try:
        iban = str(iban_number.validate(iban_text))
    except ValidationError as exc:
        raise ProviderConfigError(f"TOPUP_BANK_IBAN is not a valid IBAN: {exc}") from exc
    bic = ctx.env.get("TOPUP_BANK_BIC", "").strip()
    if bic:
        try:
            bic = str(bic_number.validate(bic))
        except ValidationError as exc:
            raise ProviderConfigError(f"TOPUP_BANK_BIC is not a valid BIC: {exc}") from exc
    return BankAccount(name, iban, bic, ctx.env.get("TOPUP_BANK_NAME", "").strip())
