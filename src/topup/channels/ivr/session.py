"""One hotline call: identify the caller, then the voice menu until they hang up.

    main menu   1 balance | 2 redeem a voucher (PIN by DTMF) | 3 top up with the saved card
                9 the other language (English / 中文)

The language starts from ``agi_language`` (``zh``, ``zh_CN``… are Chinese, anything else is
English). Work on the database runs in a thread (``asyncio.to_thread``): the Database is
synchronous and the event loop serves every other call meanwhile. A card top-up goes through
channel ``ivr`` so the operator's fee rules apply; its fee is announced before the caller
confirms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from topup.channels.ivr.agi import AgiChannel
from topup.channels.ivr.prompts import ERROR_PROMPTS, currency_prompt, prompt
from topup.channels.selfservice import actions
from topup.channels.selfservice.actions import Caller
from topup.channels.selfservice.once import key_for
from topup.channels.selfservice.summary import MIB, line_summary, wallet_money
from topup.channels.selfservice.texts import language
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.money import Money, minor_units
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods
from topup.subscribers.errors import LineNotFound, LineNotUsable

T = TypeVar("T")
DATE_FORMATS = {"en": "BdY", "zh-CN": "YBd"}  # Asterisk's say-date letters, per language
CHANNEL_LANGUAGES = {"en": "en", "zh-CN": "zh"}  # Asterisk's language codes


@dataclass(frozen=True)
class Hotline:
    """What every call needs: the database, the payment providers, and the timings."""

    db: Database
    providers: Mapping[str, PaymentProvider]
    savers: Mapping[str, SavesMethods]
    menu_timeout_ms: int = 5000  # wait for a menu choice
    digit_timeout_ms: int = 8000  # wait for each digit of a PIN or amount
    max_misses: int = 3  # menu silences or wrong keys in a row before goodbye


class Call:
    """The voice menu for one caller on one channel."""

    def __init__(self, hotline: Hotline, chan: AgiChannel, env: Mapping[str, str]) -> None:
        self.hotline, self.chan = hotline, chan
        self.lang = language(env.get("language"))
        self.uniqueid = env.get("uniqueid", "")
        self.callerid = env.get("callerid", "")
        self.topups = 0

    async def _db(self, work: Callable[[UnitOfWork], T]) -> T:
        def run() -> T:
            with self.hotline.db.unit(readonly=True) as uow:
                return work(uow)
        return await asyncio.to_thread(run)

    async def play(self, name: str) -> None:
        await self.chan.stream_file(prompt(name, self.lang))

    async def ask(self, name: str, timeout_ms: int, max_digits: int) -> str:
        return await self.chan.get_data(prompt(name, self.lang), timeout_ms, max_digits)

    async def say_money(self, money: Money) -> None:
        """``100 yuan 50 fen``: the number, then the unit's prompt."""
        major, minor = divmod(money.amount, 10 ** minor_units(money.currency))
        await self.chan.say_number(major)
        await self.chan.stream_file(currency_prompt(money.currency, self.lang))
        if minor:
            await self.chan.say_number(minor)
            await self.chan.stream_file(currency_prompt(money.currency, self.lang, minor=True))

    async def run(self) -> None:
        """Answer, identify, serve the menu, say goodbye (the server hangs up)."""
        await self.chan.answer()
        try:
            caller = await self._db(lambda uow: actions.identify(uow, self.callerid))
            actions.ensure_usable(caller)
        except LineNotFound:
            await self.play("unknown-caller")
            return
        except LineNotUsable:
            await self.play("line-blocked")
            return
        await self.play("welcome")
        await self.menu(caller)
        await self.play("goodbye")

    async def menu(self, caller: Caller) -> None:
        misses = 0
        while misses < self.hotline.max_misses:
            choice = await self.ask("main-menu", self.hotline.menu_timeout_ms, 1)
            action = {"1": self.balance, "2": self.redeem, "3": self.card_topup,
                      "9": self.switch_language}.get(choice)
            if action is None:
                misses += 1
                if choice:
                    await self.play("invalid-choice")
                continue
            misses = 0
            await action(caller)

    async def refused(self, exc: TopupError) -> None:
        await self.play(ERROR_PROMPTS.get(exc.code, "error"))

    async def balance(self, caller: Caller) -> None:
        s = await self._db(lambda uow: line_summary(uow, caller.line))
        await self.play("balance-is")
        await self.say_money(s.balance)
        if s.data_left is None:
            await self.play("no-data")
        else:
            await self.play("data-left")
            await self.chan.say_number(s.data_left // MIB)
            await self.play("megabytes")
            if s.data_expires is not None:
                await self.play("data-expires")
                await self.chan.say_date(int(s.data_expires.timestamp()), DATE_FORMATS[self.lang])
        if s.valid_until is not None:
            await self.play("valid-until")
            await self.chan.say_date(int(s.valid_until.timestamp()), DATE_FORMATS[self.lang])

    async def redeem(self, caller: Caller) -> None:
        pin = await self.ask("enter-pin", self.hotline.digit_timeout_ms, 16)
        if not pin.isdigit():
            await self.play("invalid-choice")
            return
        try:
            red = await asyncio.to_thread(actions.redeem_voucher, self.hotline.db, caller, pin,
                                          "ivr", session=self.uniqueid or None)
        except TopupError as exc:
            await self.refused(exc)
            return
        if red.credited is None:
            await self.play("voucher-plan-active")
            return
        await self.play("voucher-credited")
        await self.say_money(red.credited)
        await self.new_balance(caller)

    async def new_balance(self, caller: Caller) -> None:
        await self.play("new-balance-is")
        await self.say_money(await self._db(lambda uow: wallet_money(uow, caller.line)))

    async def card_topup(self, caller: Caller) -> None:
        cards = await self._db(lambda uow: actions.saved_cards(uow, caller))
        if not cards:
            await self.play("no-saved-card")
            return
        card = cards[-1]  # the most recently saved
        await self.play("card-ending")
        await self.chan.say_digits(card.last4 or "0000")
        digits = await self.ask("enter-amount", self.hotline.digit_timeout_ms, 6)
        if not digits.isdigit() or int(digits) == 0:
            await self.play("amount-invalid")
            return
        amount = Money.parse(digits, caller.line.currency)
        try:
            q = await self._db(lambda uow: actions.topup_quote(
                uow, caller.line, amount, card, "ivr", self.hotline.providers))
        except TopupError as exc:
            await self.refused(exc)
            return
        await self.play("amount-is")
        await self.say_money(q.amount)
        if q.fee.amount:
            await self.play("fee-is")
            await self.say_money(q.fee)
            await self.play("total-is")
            await self.say_money(q.total)
        else:
            await self.play("no-fee")
        if await self.ask("confirm", self.hotline.menu_timeout_ms, 1) != "1":
            await self.play("cancelled")
            return
        await self.pay(caller, card.id, amount)

    async def pay(self, caller: Caller, card_id: int, amount: Money) -> None:
        self.topups += 1
        key = key_for("ivr", caller.line.id, self.uniqueid or id(self), self.topups)
        h = self.hotline
        try:
            order = await asyncio.to_thread(actions.topup_with_card, h.db, caller, card_id,
                                            amount, "ivr", key, h.providers, h.savers)
        except TopupError as exc:
            await self.refused(exc)
            return
        if order.state in ("paid", "fulfilled"):
            await self.play("topup-done")
            await self.new_balance(caller)
            return
        await self.play("topup-pending" if order.state == "awaiting_payment" else "card-declined")

    async def switch_language(self, caller: Caller) -> None:
        self.lang = "en" if self.lang == "zh-CN" else "zh-CN"
        await self.chan.set_language(CHANNEL_LANGUAGES[self.lang])
        await self.play("language-set")
