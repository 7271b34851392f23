"""Inbound SMS keywords, answered by a reply SMS through the notifications outbox.

``BAL`` (余额) the line summary; ``RENEW ON`` / ``RENEW OFF`` (开启续费 / 关闭续费) auto-renew;
``AUTO OFF`` / ``AUTOTOPUP OFF`` (关闭自动充值) switch the line's auto top-up off (it is set up on
the line's page or over the API, never by SMS); ``TOPUP <PIN>`` (充值 <PIN>) redeem a voucher;
``HELP`` (帮助) or anything else: the keyword list.
Keywords are case-insensitive and spaces do not matter (``top up 1234 5678…`` works); full-width
letters and digits from Chinese keyboards count as the plain ones, and dashes are ignored.

The reply is queued, and stored under the SMSC's message id, in the same unit of work as the
keyword's effect (auto-renew or auto top-up switched, the voucher spent), so the two stand or
fall together: a message delivered twice is answered once — the second delivery gets the
first reply back, and nothing is queued or done again.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from topup.channels.selfservice import actions, replies
from topup.channels.selfservice.actions import Caller
from topup.channels.selfservice.once import key_for, once, replayed
from topup.channels.selfservice.summary import line_summary, summary_text
from topup.channels.selfservice.texts import error_text, language, t
from topup.db.uow import Database, UnitOfWork
from topup.errors import TopupError
from topup.notifications.service import enqueue
from topup.subscribers.errors import LineNotFound, LineNotUsable
from topup.vouchers import service as vouchers
from topup.vouchers.errors import VoucherNotFound
from topup.vouchers.service import Redemption

TEMPLATE = "selfservice_reply"  # params["text"] is the reply, already in the right language

_KEYWORDS = {
    "BAL": "BAL", "BALANCE": "BAL", "余额": "BAL", "查余额": "BAL", "查询余额": "BAL",
    "RENEWON": "RENEW_ON", "开启续费": "RENEW_ON", "开通续费": "RENEW_ON",
    "RENEWOFF": "RENEW_OFF", "关闭续费": "RENEW_OFF", "取消续费": "RENEW_OFF",
    "AUTOOFF": "AUTO_OFF", "AUTOTOPUPOFF": "AUTO_OFF", "关闭自动充值": "AUTO_OFF",
    "取消自动充值": "AUTO_OFF",
    "HELP": "HELP", "帮助": "HELP", "?": "HELP",
}
_TOPUP = ("TOPUP", "充值")
_CHECK = ("CHECK", "验卡", "查卡")


@dataclass(frozen=True)
class Command:
    """What an inbound SMS asks for."""

    keyword: str  # BAL, RENEW_ON, RENEW_OFF, AUTO_OFF, TOPUP, CHECK, HELP
    pin: str = ""
    chinese: bool = False  # written with a Chinese keyword: answer in Chinese by default
    known: bool = True


def parse(text: str) -> Command:
    """The command in an SMS body; anything unrecognised is a request for help."""
    # Spaces and dashes carry no meaning: "top-up 1234-5678 …" is TOPUP12345678….
    compact = "".join(unicodedata.normalize("NFKC", text or "").split()).upper().replace("-", "")
    chinese = any("\u4e00" <= c <= "\u9fff" for c in compact)
    if compact in _KEYWORDS:
        return Command(_KEYWORDS[compact], chinese=chinese)
    for word in _TOPUP:
        if compact.startswith(word):
            return Command("TOPUP", compact[len(word):], chinese)
    for word in _CHECK:  # the serial travels in ``pin``: it is no secret
        if compact.startswith(word):
            return Command("CHECK", compact[len(word):], chinese)
    return Command("HELP", chinese=chinese, known=False)


def handle_inbound(db: Database, sender_msisdn: str, text: str, *,
                   message_id: str | None = None) -> str:
    """Answer one inbound SMS from ``sender_msisdn``: do what it asks, queue the reply SMS to
    the sender, and return the reply text. ``message_id`` (the SMSC's) makes a repeated
    delivery of the same message harmless."""
    cmd = parse(text)
    sender = "+" + "".join(c for c in sender_msisdn if c.isdigit())
    key = key_for("sms", sender, message_id) if message_id else None
    if key is not None and (before := replayed(db, key)) is not None:
        return str(before["reply"])
    with db.unit(readonly=True) as uow:
        caller = _caller(uow, sender)
    lang = _language(db, caller, cmd)
    if cmd.keyword == "CHECK":  # anyone may check a card, registered or not
        answer = check_text(db, cmd.pin, f"sms:{sender}", lang)
        return _send(db, key, sender, lang, cmd, lambda uow: answer)
    if cmd.keyword == "TOPUP" and cmd.pin and caller is not None and _usable(caller):
        try:
            return _redeem(db, key, caller, sender, cmd, lang)
        except TopupError as exc:  # nothing was done: the refusal is the reply
            refusal = error_text(exc, lang)
            return _send(db, key, sender, lang, cmd, lambda uow: refusal)
    return _send(db, key, sender, lang, cmd, lambda uow: _answer(uow, caller, cmd, lang))


def check_text(db: Database, serial: str, who: str, lang: str) -> str:
    """The public check of a card's serial as one SMS (counted per sender, as the page counts
    per address)."""
    if not serial:
        return t("check_missing", lang)
    try:
        found = vouchers.public_check(db, serial, who)
    except VoucherNotFound:
        return t("check_unknown", lang, serial=serial)
    except TopupError as exc:  # too many checks, a malformed serial
        return error_text(exc, lang)
    if found.state == "active":
        value = found.face.format("zh_CN" if lang == "zh-CN" else "en")
        return t("check_genuine", lang, serial=found.serial, amount=value)
    if found.state in ("used", "reserved"):
        return t("check_used", lang, serial=found.serial)
    return t("check_void", lang, serial=found.serial)


def _caller(uow: UnitOfWork, sender: str) -> Caller | None:
    try:
        return actions.identify(uow, sender)
    except LineNotFound:
        return None


def _usable(caller: Caller) -> bool:
    try:
        actions.ensure_usable(caller)
    except LineNotUsable:
        return False
    return True


def _language(db: Database, caller: Caller | None, cmd: Command) -> str:
    """The account's language; else Chinese for a Chinese keyword; else the operator's."""
    if caller is not None and caller.from_account:
        return caller.language
    return "zh-CN" if cmd.chinese else language(db.settings.default_language)


def _answer(uow: UnitOfWork, caller: Caller | None, cmd: Command, lang: str) -> str:
    if caller is None:
        return t("unknown_caller", lang)
    if not _usable(caller):
        return t("line_blocked", lang)
    if cmd.keyword == "BAL":
        return summary_text(line_summary(uow, caller.line), lang, with_renewal=True)
    if cmd.keyword in ("RENEW_ON", "RENEW_OFF"):
        on = cmd.keyword == "RENEW_ON"
        actions.set_auto_renew(uow, caller, on)
        return t("renew_on" if on else "renew_off", lang)
    if cmd.keyword == "AUTO_OFF":
        actions.switch_off_auto_topup(uow, caller)
        return t("auto_topup_off", lang)
    if cmd.keyword == "TOPUP":
        return t("pin_missing", lang)
    return t("sms_help", lang, operator=uow.settings.operator_name)


def _redeem(db: Database, key: str | None, caller: Caller, sender: str, cmd: Command,
            lang: str) -> str:
    """Redeem, and queue the reply SMS in the unit of work that spends the card."""

    def reply(uow: UnitOfWork, red: Redemption) -> dict[str, str]:
        text = replies.redeemed_text(uow, caller, red, lang)
        enqueue(uow, "sms", sender, TEMPLATE, lang, {"text": text, "keyword": cmd.keyword})
        return {"reply": text}

    return str(actions.redeem_once(db, caller, cmd.pin, "sms", key, reply)["reply"])


def _send(db: Database, key: str | None, sender: str, lang: str, cmd: Command,
          work: Callable[[UnitOfWork], str]) -> str:
    """Do ``work`` and queue its reply in one unit (claiming ``key`` there too, if given)."""

    def job(uow: UnitOfWork) -> dict[str, str]:
        reply = work(uow)
        enqueue(uow, "sms", sender, TEMPLATE, lang, {"text": reply, "keyword": cmd.keyword})
        return {"reply": reply}

    if key is None:
        return db.transact(job, what="sms keyword")["reply"]
    body, _ = once(db, key, job, retry=True)  # the reply SMS leaves from the outbox
    return str(body["reply"])
