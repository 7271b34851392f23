"""Who is calling, and what an offline caller can do: each one call into the area services.

The caller is the line whose MSISDN the network gives us (USSD ``phoneNumber``, AGI
``agi_callerid``, the SMS sender). Nothing here renders text; ``replies`` and the channels do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from topup.catalog import service as catalog
from topup.catalog.quotes import price
from topup.catalog.service import Plan
from topup.channels.selfservice.once import once, record, replayed
from topup.channels.selfservice.texts import language
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.money import Money
from topup.orders import autotopup
from topup.orders.errors import PaymentMethodUnavailable
from topup.orders.model import Order, OrderRequest, Quote
from topup.orders.service import create_order, get_order, quote
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods
from topup.payments.saved.service import (
    MethodNotFound,
    StoredMethod,
    list_methods,
    pay_with_saved,
)
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import LineNotFound
from topup.subscribers.lines import Line
from topup.vouchers.service import RedeemContext, Redemption, redeem


@dataclass(frozen=True)
class Caller:
    """The line on the phone and the language to answer in."""

    line: Line
    language: str  # the account's language when the line has a customer, else the operator's
    from_account: bool  # whether ``language`` is the customer's own choice


def msisdn_of(raw: str) -> str:
    """The MSISDN as lines store it: digits only, no ``+`` or ``00`` international prefix."""
    digits = "".join(c for c in (raw or "") if c.isdigit())
    if (raw or "").strip().startswith("00") or digits.startswith("00"):
        digits = digits[2:]
    if not 6 <= len(digits) <= 15:
        raise LineNotFound("no usable calling number")
    return digits


def identify(uow: UnitOfWork, raw_msisdn: str) -> Caller:
    """The caller's line (LineNotFound for a number we do not serve) and language."""
    line = line_svc.find_line(uow, msisdn_of(raw_msisdn))
    if line.customer_id is None:
        return Caller(line, language(uow.settings.default_language), False)
    # update_profile without changes is the subscribers area's read of a user.
    user = auth.update_profile(uow, line.customer_id)
    return Caller(line, language(user.language), True)


def ensure_usable(caller: Caller) -> None:
    """LineNotUsable for a frozen or terminated line."""
    line_svc.ensure_usable(caller.line)


def remember_language(uow: UnitOfWork, caller: Caller, lang: str) -> None:
    """Keep a language chosen in a menu on the customer's account; a line without a customer
    keeps it for the session only."""
    if caller.line.customer_id is not None:
        auth.update_profile(uow, caller.line.customer_id, language=language(lang))


def offered_plans(uow: UnitOfWork, line: Line, limit: int) -> list[Plan]:
    """Plans on sale now for the line's home country, priced in its currency, first ``limit``."""
    return catalog.list_plans(uow, country=line.home_country, currency=line.currency,
                              on_sale_at=uow.now)[:limit]


def plan_prices(uow: UnitOfWork, line: Line, plans: list[Plan], channel: str) -> list[Money]:
    """What each of ``plans`` costs the line through ``channel`` now, as the price service
    quotes it (the same number the order then charges)."""
    quoted = [price(uow, p, line.currency, uow.now, channel, customer=line.customer_id)
              for p in plans]
    return [q.money(q.total) for q in quoted]


def _plan_request(line: Line, plan_id: int, channel: str) -> OrderRequest:
    # The caller confirmed on a screen that showed the price: a repeat purchase is meant.
    return OrderRequest(kind="plan", method="wallet", channel=channel, plan_id=plan_id,
                        currency=line.currency, confirm_duplicate=True)


def plan_quote(uow: UnitOfWork, line: Line, plan_id: int, channel: str) -> Quote:
    """Price and fee of buying ``plan_id`` from the wallet."""
    return quote(uow, line, _plan_request(line, plan_id, channel))


def buy_plan(uow: UnitOfWork, line: Line, plan_id: int, channel: str) -> Order:
    """Buy a plan from the wallet (InsufficientFunds when it holds too little)."""
    return create_order(uow, None, line_svc.get_line(uow, line.id),
                        _plan_request(line, plan_id, channel))


def saved_cards(uow: UnitOfWork, caller: Caller) -> list[StoredMethod]:
    """The live saved cards of the line's customer (none for a line without one)."""
    if caller.line.customer_id is None:
        return []
    return list_methods(uow, caller.line.customer_id)


def _topup_request(amount: Money, method: str, channel: str) -> OrderRequest:
    return OrderRequest(kind="topup", method=method, channel=channel, amount=amount.amount,
                        currency=amount.currency, confirm_duplicate=True)


def topup_quote(uow: UnitOfWork, line: Line, amount: Money, card: StoredMethod, channel: str,
                providers: Mapping[str, PaymentProvider]) -> Quote:
    """Amount and fee of topping up ``amount`` with ``card`` through ``channel`` (refused as
    the order would refuse it)."""
    return quote(uow, line, _topup_request(amount, card.provider, channel),
                 provider=providers.get(card.provider))


def _card(uow: UnitOfWork, caller: Caller, card_id: int) -> StoredMethod:
    for card in saved_cards(uow, caller):
        if card.id == card_id:
            return card
    raise MethodNotFound("no such saved payment method")


def topup_with_card(db: Database, caller: Caller, card_id: int, amount: Money, channel: str,
                    key: str, providers: Mapping[str, PaymentProvider],
                    savers: Mapping[str, SavesMethods]) -> Order:
    """Top up ``amount`` charged off-session to a saved card; ``key`` names this request, so a
    repeat of it finds the first order instead of making and charging a second."""
    with db.unit(readonly=True) as uow:
        card = _card(uow, caller, card_id)
    provider, saver = providers.get(card.provider), savers.get(card.provider)
    if provider is None or saver is None:
        raise PaymentMethodUnavailable(f"{card.provider} cannot charge saved cards here")
    req = _topup_request(amount, card.provider, channel)

    def make(uow: UnitOfWork) -> dict[str, int]:
        line = line_svc.get_line(uow, caller.line.id)
        return {"order_id": create_order(uow, None, line, req, provider=provider).id}

    made, _ = once(db, key, make)
    with db.unit(readonly=True) as uow:
        order = get_order(uow, int(made["order_id"]))
    if order.state == "awaiting_payment":
        order = pay_with_saved(db, saver, provider, order, card.id)
    return order


def redeem_voucher(db: Database, caller: Caller, pin: str, channel: str, *,
                   session: str | None = None,
                   then: Callable[[UnitOfWork, Redemption], None] | None = None) -> Redemption:
    """Redeem a scratch-card PIN onto the caller's line (the voucher is spent exactly once);
    ``then`` runs in the unit of work that spends it (to store and send the reply there)."""
    return redeem(db, pin, caller.line.id, RedeemContext(channel=channel, session=session),
                  then=then)


def set_auto_renew(uow: UnitOfWork, caller: Caller, on: bool) -> Line:
    """Switch auto-renew for the caller's line."""
    return line_svc.set_auto_renew(uow, caller.line.id, on)


def switch_off_auto_topup(uow: UnitOfWork, caller: Caller) -> bool:
    """Switch the caller's line's auto top-up off; False when it had none."""
    return autotopup.switch_off(uow, caller.line.id) is not None


def redeem_once(db: Database, caller: Caller, pin: str, channel: str, key: str | None,
                reply: Callable[[UnitOfWork, Redemption], dict[str, Any]], *,
                session: str | None = None) -> dict[str, Any]:
    """Redeem ``pin`` and build ``reply(uow, redemption)`` in the unit of work that spends the
    card, storing it under ``key`` there: a retransmission of the request gets that reply
    back and redeems nothing. A refusal raises (nothing was done, nothing stored), unless a
    twin of this request redeemed the card meanwhile: then the twin's reply is returned."""
    if key is not None and (before := replayed(db, key)) is not None:
        return before
    kept: dict[str, Any] = {}

    def keep(uow: UnitOfWork, red: Redemption) -> None:
        kept.update(reply(uow, red))
        if key is not None:
            record(uow, key, kept)

    try:
        redeem_voucher(db, caller, pin, channel, session=session, then=keep)
    except TopupError:
        twin = replayed(db, key) if key is not None else None
        if twin is None:
            raise
        return twin
    return kept
