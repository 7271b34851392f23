"""The USSD menu: its shape (which input is an option where) and its screens.

    (main)              1 balance | 2 plans | 3 voucher | 4 card top-up | 5 language | <PIN>
    2 → plan k → 1      buy plan k from the wallet
    3 → <PIN>           redeem a voucher (also ``*123*<PIN>#`` in one go)
    4 → card c → amount a → 1   top up with a saved card
    5 → 1 | 2           English | 中文

Screens that answer or act close the session (``END``); the others ask (``CON``). The lists
have a fixed length in both languages, so the same input picks the same entry whichever
language the session is in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from typing import TypeVar

from topup.catalog import service as catalog
from topup.catalog.service import Plan
from topup.channels.selfservice import actions, replies
from topup.channels.selfservice.actions import Caller
from topup.channels.selfservice.once import key_for, once
from topup.channels.selfservice.summary import (
    line_summary,
    money_text,
    summary_text,
    wallet_money,
)
from topup.channels.selfservice.texts import t
from topup.channels.ussd.navigation import Position, looks_like_pin
from topup.db.uow import Database, UnitOfWork
from topup.errors import InvalidInput
from topup.ledger.errors import InsufficientFunds
from topup.money import Money
from topup.orders.model import Quote
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods
from topup.payments.saved.service import StoredMethod

PLANS_SHOWN = 3
CARDS_SHOWN = 3
PRESETS_SHOWN = 4
MAIN_OPTIONS = frozenset("12345")
LANGUAGES = {"1": "en", "2": "zh-CN"}
NAME_CHARS = 26  # a plan name is cut to this in lists

Screen = tuple[str, str]  # ("CON" | "END", body)
T = TypeVar("T")


def _index(entry: str, count: int) -> int | None:
    """The 0-based entry ``entry`` picks from a list of ``count``, if any."""
    return int(entry) - 1 if entry.isdigit() and 1 <= int(entry) <= count else None


class UssdMenu:
    """The menu as one caller sees it during one request of a session."""

    def __init__(self, db: Database, caller: Caller, session_id: str, inputs: list[str],
                 providers: Mapping[str, PaymentProvider],
                 savers: Mapping[str, SavesMethods]) -> None:
        self.db, self.caller, self.session_id, self.inputs = db, caller, session_id, inputs
        self.providers, self.savers = providers, savers

    def _read(self, work: Callable[[UnitOfWork], T]) -> T:
        with self.db.unit(readonly=True) as uow:
            return work(uow)

    @cached_property
    def plans(self) -> list[Plan]:
        line = self.caller.line
        return self._read(lambda uow: actions.offered_plans(uow, line, PLANS_SHOWN))

    @cached_property
    def cards(self) -> list[StoredMethod]:
        return self._read(lambda uow: actions.saved_cards(uow, self.caller))[:CARDS_SHOWN]

    @cached_property
    def presets(self) -> list[Money]:
        cur = self.caller.line.currency
        amounts = self._read(lambda uow: catalog.presets(uow, cur))
        return [Money(a, cur) for a in amounts[:PRESETS_SHOWN]]

    # -- shape -------------------------------------------------------------------------

    def accepts(self, path: tuple[str, ...], entry: str) -> bool:
        """Whether ``entry`` is an option on the screen at ``path``."""
        match path:
            case ():
                return entry in MAIN_OPTIONS or looks_like_pin(entry)
            case ("2",):
                return _index(entry, len(self.plans)) is not None
            case ("2", _) | ("4", _, _):
                return entry == "1"
            case ("3",):
                return entry.isdigit()
            case ("4",):
                return _index(entry, len(self.cards)) is not None
            case ("4", _):
                return self._amount(entry) is not None
        return False

    def is_end(self, path: tuple[str, ...]) -> bool:
        """Whether the screen at ``path`` closes the session."""
        match path:
            case ("1",) | ("2", _, _) | ("3", _) | ("4", _, _, _):
                return True
            case ("2",):
                return not self.plans
            case ("4",):
                return not self.cards
            case (entry,):
                return looks_like_pin(entry)
        return False

    def language_choice(self, path: tuple[str, ...], entry: str) -> str | None:
        """English or Chinese, on the language screen."""
        return LANGUAGES.get(entry) if path == ("5",) else None

    def _amount(self, entry: str) -> Money | None:
        if self.presets:
            i = _index(entry, len(self.presets))
            return None if i is None else self.presets[i]
        if not entry.isdigit() or int(entry) <= 0:
            return None
        return Money.parse(entry, self.caller.line.currency)  # whole units: keypads have no "."

    def _chosen_amount(self, entry: str) -> Money:
        amount = self._amount(entry)
        if amount is None:  # navigation accepted it, so this is a bug, not a caller's typo
            raise InvalidInput(f"not an amount: {entry!r}", field="amount")
        return amount

    # -- screens -----------------------------------------------------------------------

    def screen(self, pos: Position) -> Screen:
        """The screen at ``pos``; its action is done here when it is an acting screen."""
        lang, path = pos.language, pos.path
        if (len(path) == 2 and path[0] == "3") or (len(path) == 1 and looks_like_pin(path[0])):
            return self._redeem(path[-1], lang)
        match path:
            case ():
                return "CON", t("main_menu", lang, operator=self.db.settings.operator_name)
            case ("1",):
                line = self.caller.line
                return "END", self._read(lambda uow: summary_text(line_summary(uow, line), lang))
            case ("2",):
                return self._plan_list(lang)
            case ("2", k):
                return self._plan_confirm(self.plans[int(k) - 1], lang)
            case ("2", k, _):
                return self._buy(self.plans[int(k) - 1], lang)
            case ("3",):
                return "CON", f"{t('pin_prompt', lang)}\n{t('back', lang)}"
            case ("4",):
                return self._card_list(lang)
            case ("4", c):
                return self._amount_screen(lang)
            case ("4", c, a):
                return self._topup_confirm(int(c) - 1, a, lang)
            case ("4", c, a, _):
                return self._pay(int(c) - 1, a, lang)
            case ("5",):
                return "CON", t("language_menu", lang)
        return "END", t("invalid_choice", lang)

    def _key(self) -> str:
        return key_for("ussd", self.caller.line.id, self.session_id, "*".join(self.inputs))

    def _plan_list(self, lang: str) -> Screen:
        if not self.plans:
            return "END", t("no_plans", lang)
        line, plans = self.caller.line, self.plans
        prices = self._read(lambda uow: actions.plan_prices(uow, line, plans, "ussd"))
        rows = [f"{i} {p.name(lang)[:NAME_CHARS]} {money_text(m, lang)}"
                for i, (p, m) in enumerate(zip(plans, prices, strict=True), start=1)]
        return "CON", "\n".join([t("plans_header", lang), *rows, t("back", lang)])

    def _plan_quote(self, plan: Plan) -> Quote:
        line = self.caller.line
        return self._read(lambda uow: actions.plan_quote(uow, line, plan.id, "ussd"))

    def _plan_confirm(self, plan: Plan, lang: str) -> Screen:
        q = self._plan_quote(plan)
        fee = t("fee", lang, fee=money_text(q.fee, lang)) if q.fee.amount else ""
        body = t("plan_confirm", lang, plan=plan.name(lang), price=money_text(q.amount, lang),
                 fee=fee, balance=money_text(self._balance(), lang))
        return "CON", f"{body}\n{t('confirm', lang)}\n{t('back', lang)}"

    def _balance(self) -> Money:
        line = self.caller.line
        return self._read(lambda uow: wallet_money(uow, line))

    def _buy(self, plan: Plan, lang: str) -> Screen:
        def work(uow: UnitOfWork) -> dict[str, str]:
            order = actions.buy_plan(uow, self.caller.line, plan.id, "ussd")
            return {"reply": replies.bought_text(uow, self.caller, order, lang)}

        try:
            done, _ = once(self.db, self._key(), work, retry=True)  # from the wallet
        except InsufficientFunds as exc:
            needed = self._plan_quote(plan).total
            return "END", replies.refusal_text(exc, lang, needed=needed, balance=self._balance())
        return "END", str(done["reply"])

    def _redeem(self, pin: str, lang: str) -> Screen:
        done = actions.redeem_once(
            self.db, self.caller, pin, "ussd", self._key(),
            lambda uow, red: {"reply": replies.redeemed_text(uow, self.caller, red, lang)},
            session=self.session_id)
        return "END", str(done["reply"])

    def _card_list(self, lang: str) -> Screen:
        if not self.cards:
            return "END", t("no_card", lang)
        rows = [f"{i} {_card_label(c)}" for i, c in enumerate(self.cards, start=1)]
        return "CON", "\n".join([t("cards_header", lang), *rows, t("back", lang)])

    def _amount_screen(self, lang: str) -> Screen:
        if not self.presets:
            cur = self.caller.line.currency
            return "CON", f"{t('amount_entry', lang, currency=cur)}\n{t('back', lang)}"
        rows = [f"{i} {money_text(m, lang)}" for i, m in enumerate(self.presets, start=1)]
        return "CON", "\n".join([t("amount_presets", lang), *rows, t("back", lang)])

    def _topup_confirm(self, card_index: int, entry: str, lang: str) -> Screen:
        card, amount = self.cards[card_index], self._chosen_amount(entry)
        line = self.caller.line
        q = self._read(lambda uow: actions.topup_quote(uow, line, amount, card, "ussd",
                                                       self.providers))
        fee = t("fee", lang, fee=money_text(q.fee, lang)) if q.fee.amount else ""
        body = t("topup_confirm", lang, amount=money_text(q.amount, lang),
                 card=_card_label(card), fee=fee, total=money_text(q.total, lang))
        return "CON", f"{body}\n{t('confirm', lang)}\n{t('back', lang)}"

    def _pay(self, card_index: int, entry: str, lang: str) -> Screen:
        card, amount = self.cards[card_index], self._chosen_amount(entry)
        order = actions.topup_with_card(self.db, self.caller, card.id, amount, "ussd",
                                        self._key(), self.providers, self.savers)
        return "END", self._read(lambda uow: replies.topup_text(uow, self.caller, order, lang))


def _card_label(card: StoredMethod) -> str:
    """``Visa *4242``: brand and last four, never more of the card."""
    return f"{(card.brand or card.provider).capitalize()} *{card.last4 or '????'}"
