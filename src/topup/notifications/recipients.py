"""Who hears about a line: its customer by e-mail, and the line itself by SMS, as the
customer's notification preferences allow (quiet hours hold the SMS back)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from topup.db.uow import UnitOfWork
from topup.notifications.preferences import get_preferences
from topup.notifications.service import enqueue
from topup.subscribers.tables import lines, users


def notify_line(uow: UnitOfWork, line_id: int, template: str, params: dict[str, Any]
                ) -> list[int]:
    """Queue ``template`` for the line's customer (e-mail) and number (SMS), in the customer's
    language (else the operator's default), in the caller's unit of work; returns the ids."""
    row = uow.conn.execute(
        select(lines.c.msisdn, lines.c.customer_id, users.c.email, users.c.language)
        .select_from(lines.outerjoin(users, users.c.id == lines.c.customer_id))
        .where(lines.c.id == line_id)).one()
    language = row.language or uow.settings.default_language
    # The customer's switches decide the channels; their quiet hours hold the SMS back.
    prefs = get_preferences(uow, row.customer_id) if row.customer_id else None
    queued = []
    if row.email and (prefs is None or prefs.email):
        queued.append(enqueue(uow, "email", row.email, template, language, params,
                              user_id=row.customer_id))
    if row.msisdn and (prefs is None or prefs.sms):
        queued.append(enqueue(uow, "sms", row.msisdn, template, language, params,
                              user_id=row.customer_id, quiet=True))
    return queued
