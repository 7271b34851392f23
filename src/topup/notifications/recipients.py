"""Who hears about a line: its customer by e-mail, and the line itself by SMS."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from topup.db.uow import UnitOfWork
from topup.notifications.service import enqueue
from topup.subscribers.tables import lines, users


def notify_line(uow: UnitOfWork, line_id: int, template: str, params: dict[str, Any]
                ) -> list[int]:
    """Queue ``template`` for the line's customer (e-mail) and number (SMS), in the customer's
    language (else the operator's default), in the caller's unit of work; returns the ids."""
    row = uow.conn.execute(
        select(lines.c.msisdn, users.c.email, users.c.language)
        .select_from(lines.outerjoin(users, users.c.id == lines.c.customer_id))
        .where(lines.c.id == line_id)).one()
    language = row.language or uow.settings.default_language
    queued = []
    if row.email:
        queued.append(enqueue(uow, "email", row.email, template, language, params))
    if row.msisdn:
        queued.append(enqueue(uow, "sms", row.msisdn, template, language, params))
    return queued
