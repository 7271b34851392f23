"""Who hears about a line: its customer by e-mail, and the line's number (else the customer's
phone) by SMS, in the customer's language, as their notification preferences allow (quiet
hours hold the SMS back). One answer for confirmations, reminders and renewal notices."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from topup.db.uow import UnitOfWork
from topup.notifications.preferences import get_preferences
from topup.notifications.rendering import LANGUAGES
from topup.notifications.service import enqueue
from topup.subscribers.tables import lines, users


@dataclass(frozen=True)
class Recipients:
    """Where a line's messages go; None where a channel is off or has no address."""

    email: str | None
    sms: str | None  # E.164 with "+"
    language: str
    user_id: int | None


def recipients_of(uow: UnitOfWork, line_id: int) -> Recipients:
    """The line's recipients; a line without a customer gets SMS in the default language."""
    row = uow.conn.execute(
        select(lines.c.msisdn, lines.c.customer_id, users.c.email, users.c.phone,
               users.c.language)
        .select_from(lines.outerjoin(users, users.c.id == lines.c.customer_id))
        .where(lines.c.id == line_id)).one()
    default = uow.settings.default_language
    language = row.language or (default if default in LANGUAGES else "en")
    prefs = get_preferences(uow, row.customer_id) if row.customer_id else None
    number = f"+{row.msisdn}" if row.msisdn else row.phone
    return Recipients(
        email=row.email if row.email and (prefs is None or prefs.email) else None,
        sms=number if number and (prefs is None or prefs.sms) else None,
        language=language, user_id=row.customer_id)


def notify_line(uow: UnitOfWork, line_id: int, template: str, params: dict[str, Any], *,
                sms: bool = True, to: Recipients | None = None) -> list[int]:
    """Queue ``template`` for the line's recipients (``to``, when the caller has them
    already; ``sms=False``: e-mail only) in the caller's unit of work; returns the ids."""
    to = to or recipients_of(uow, line_id)
    queued = []
    if to.email:
        queued.append(enqueue(uow, "email", to.email, template, to.language, params,
                              user_id=to.user_id))
    if to.sms and sms:
        queued.append(enqueue(uow, "sms", to.sms, template, to.language, params,
                              user_id=to.user_id, quiet=True))
    return queued
