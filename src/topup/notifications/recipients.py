"""Who hears about a line: its customer by e-mail, and the line's number (else the customer's
phone) by SMS, in the customer's language, as their notification preferences allow (quiet
hours hold the SMS back). One answer for confirmations, reminders and renewal notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from topup.db.uow import UnitOfWork
from topup.notifications.preferences import get_preferences
from topup.notifications.rendering import LANGUAGES
from topup.notifications.service import enqueue
from topup.notifications.tables import outbox
from topup.subscribers.tables import lines, users


@dataclass(frozen=True)
class Recipients:
    """Where a line's messages go; None where a channel is off or has no address."""

    email: str | None
    sms: str | None  # E.164 with "+"
    language: str
    user_id: int | None


def _columns() -> Any:
    return (select(lines.c.id, lines.c.msisdn, lines.c.customer_id, users.c.email,
                   users.c.phone, users.c.language)
            .select_from(lines.outerjoin(users, users.c.id == lines.c.customer_id)))


def _recipients(uow: UnitOfWork, row: Any) -> Recipients:
    default = uow.settings.default_language
    language = row.language or (default if default in LANGUAGES else "en")
    prefs = get_preferences(uow, row.customer_id) if row.customer_id else None
    number = f"+{row.msisdn}" if row.msisdn else row.phone
    return Recipients(
        email=row.email if row.email and (prefs is None or prefs.email) else None,
        sms=number if number and (prefs is None or prefs.sms) else None,
        language=language, user_id=row.customer_id)


def recipients_of(uow: UnitOfWork, line_id: int) -> Recipients:
    """The line's recipients; a line without a customer gets SMS in the default language."""
    return _recipients(uow, uow.conn.execute(_columns().where(lines.c.id == line_id)).one())


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


def notify_lines(uow: UnitOfWork, messages: Sequence[tuple[int, dict[str, Any]]],
                 template: str) -> int:
    """``notify_line`` for many lines at once (a sweep that moves thousands): their
    recipients read together, their messages inserted together; returns how many."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(messages), 500):
        part = dict(messages[start:start + 500])
        found = {int(row.id): row
                 for row in uow.conn.execute(_columns().where(lines.c.id.in_(list(part))))}
        for line_id, params in part.items():  # in the caller's order, as notify_line would
            if line_id not in found:
                continue
            to = _recipients(uow, found[line_id])
            for channel, address in (("email", to.email), ("sms", to.sms)):
                if address:
                    rows.append(_message(uow, channel, address, template, to, params))
    if rows:
        uow.conn.execute(insert(outbox), rows)
    return len(rows)


def _message(uow: UnitOfWork, channel: str, address: str, template: str, to: Recipients,
             params: dict[str, Any]) -> dict[str, Any]:
    """One outbox row as ``enqueue`` writes it (an SMS waits for the quiet hours' end)."""
    due = uow.now
    if channel == "sms" and to.user_id is not None:
        due = get_preferences(uow, to.user_id).quiet_until(due) or due
    return {"channel": channel, "recipient": address, "template": template,
            "language": to.language, "params": params, "state": "queued", "attempts": 0,
            "created_at": uow.now, "next_attempt_at": due, "user_id": to.user_id,
            "quiet": channel == "sms"}
