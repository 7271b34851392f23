"""The outcome texts that USSD and SMS both send: a voucher redeemed, a plan bought, a top-up
paid, or why not."""

from __future__ import annotations

from topup.catalog import service as catalog
from topup.channels.selfservice.actions import Caller
from topup.channels.selfservice.summary import money_text, wallet_money
from topup.channels.selfservice.texts import error_text, t
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.ledger.errors import InsufficientFunds
from topup.money import Money
from topup.orders.model import Order
from topup.vouchers.service import Redemption


def _balance(uow: UnitOfWork, caller: Caller, lang: str) -> str:
    return money_text(wallet_money(uow, caller.line), lang)


def redeemed_text(uow: UnitOfWork, caller: Caller, red: Redemption, lang: str) -> str:
    """What a redeemed voucher gave: money and the new balance, or the plan now active."""
    if red.credited is not None:
        return t("voucher_money", lang, serial=red.serial, amount=money_text(red.credited, lang),
                 balance=_balance(uow, caller, lang))
    plan = catalog.get_plan(uow, int(red.plan_id or 0))
    return t("voucher_plan", lang, serial=red.serial, plan=plan.name(lang))


def bought_text(uow: UnitOfWork, caller: Caller, order: Order, lang: str) -> str:
    """A plan bought from the wallet, and what is left."""
    plan = catalog.get_plan(uow, int(order.plan_id or 0))
    return t("plan_bought", lang, plan=plan.name(lang), balance=_balance(uow, caller, lang))


def topup_text(uow: UnitOfWork, caller: Caller, order: Order, lang: str) -> str:
    """How a card top-up ended: credited, refused, or still on its way."""
    if order.state in ("paid", "fulfilled"):
        return t("topup_done", lang, amount=money_text(order.money, lang),
                 balance=_balance(uow, caller, lang))
    if order.state == "awaiting_payment":
        return t("topup_pending", lang)
    return t("topup_declined", lang)


def refusal_text(exc: TopupError, lang: str, *, needed: Money | None = None,
                 balance: Money | None = None) -> str:
    """Why it did not work, in words a caller can act on."""
    if isinstance(exc, InsufficientFunds) and needed is not None and balance is not None:
        return t("insufficient", lang, needed=money_text(needed, lang),
                 balance=money_text(balance, lang))
    return error_text(exc, lang)
