"""The USSD gateway's HTTP callback, in the widely used convention.

The gateway POSTs a form (``sessionId``, ``serviceCode``, ``phoneNumber``, ``networkCode``,
``text``) for every step of a session and shows our ``text/plain`` answer: ``CON …`` keeps the
session open for another input, ``END …`` closes it. The caller is the line of
``phoneNumber``. Only the operator's gateway may call (shared secret, optional address list).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import PlainTextResponse

from topup.channels.api.deps import database
from topup.channels.selfservice import actions
from topup.channels.selfservice.gateway import gateway
from topup.channels.selfservice.texts import error_text, fits_ussd, language, t, ussd_size
from topup.channels.ussd.menu import UssdMenu
from topup.channels.ussd.navigation import Position, inputs_of, walk
from topup.db.uow import Database
from topup.errors import TopupError
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods
from topup.subscribers.errors import LineNotFound, LineNotUsable

log = logging.getLogger("topup.ussd")
router = APIRouter(tags=["ussd"])


def answer(db: Database, session_id: str, service_code: str, phone_number: str, text: str, *,
           providers: Mapping[str, PaymentProvider] | None = None,
           savers: Mapping[str, SavesMethods] | None = None) -> str:
    """The reply to one gateway request: ``CON <screen>`` or ``END <screen>``."""
    try:
        with db.unit(readonly=True) as uow:
            caller = actions.identify(uow, phone_number)
    except LineNotFound:
        return _reply("END", t("unknown_caller", language(db.settings.default_language)))
    try:
        actions.ensure_usable(caller)
    except LineNotUsable:
        return _reply("END", t("line_blocked", caller.language))
    inputs = inputs_of(service_code, text)
    menu = UssdMenu(db, caller, session_id, inputs, providers or {}, savers or {})
    pos = walk(inputs, menu, caller.language)
    try:
        return _reply(*_screen(db, menu, pos))
    except TopupError as exc:
        return _reply("END", error_text(exc, pos.language))


def _screen(db: Database, menu: UssdMenu, pos: Position) -> tuple[str, str]:
    lang = pos.language
    if pos.overrun:
        return "END", t("invalid_choice", lang)
    if pos.language_changed:
        db.transact(lambda uow: actions.remember_language(uow, menu.caller, lang),
                    what="ussd language")
    kind, body = menu.screen(pos)
    if pos.invalid and kind == "CON":
        body = f"{t('invalid_choice', lang)}\n{body}"
    if pos.language_changed:
        body = f"{t('language_set', lang)}\n{body}"
    return kind, body


def _reply(kind: str, body: str) -> str:
    """``kind`` and ``body``, cut to what one USSD screen shows (the texts are written to
    fit; this only guards against an unexpectedly long plan or operator name)."""
    while not fits_ussd(body):
        size, limit = ussd_size(body)
        body = body[: len(body) - max(1, (size - limit) // 2)]
    return f"{kind} {body}"


@router.post("/ussd", response_class=PlainTextResponse,
             dependencies=[Depends(gateway("ussd"))])
def ussd_callback(
    request: Request,
    session_id: str = Form(..., alias="sessionId", max_length=128),
    service_code: str = Form("", alias="serviceCode", max_length=64),
    phone_number: str = Form(..., alias="phoneNumber", max_length=32),
    text: str = Form("", max_length=512),
    network_code: str | None = Form(None, alias="networkCode", max_length=16),
    db: Database = Depends(database),
) -> PlainTextResponse:
    """One step of a USSD session, called by the operator's USSD gateway."""
    s = db.settings
    try:
        reply = answer(db, session_id, service_code, phone_number, text,
                       providers=request.app.state.payment_providers,
                       savers=request.app.state.saved_methods)
    except Exception:
        # The phone shows whatever we answer: never a stack trace, always a closing screen.
        log.exception("USSD session %s failed", session_id)
        reply = _reply("END", t("error", language(s.default_language)))
    return PlainTextResponse(reply)
