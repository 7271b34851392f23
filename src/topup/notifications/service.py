"""Writing to the outbox, and what operators do with it: list, inspect, retry dead letters,
send a message again.

``enqueue`` runs in the caller's unit of work, so a message exists exactly when its cause
committed. ``topup worker`` delivers it later (``delivery.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, select, update

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.notifications.errors import NotificationNotFound, NotRetryable
from topup.notifications.preferences import get_preferences
from topup.notifications.tables import STATES, outbox


def enqueue(
    uow: UnitOfWork, channel: str, recipient: str, template: str, language: str,
    params: dict[str, Any], *, user_id: int | None = None, quiet: bool = False,
    not_before: datetime | None = None,
) -> int:
    """Queue one message in the caller's transaction; it goes out only if that commits.

    ``user_id`` names the customer it is for; with ``quiet`` an SMS respects that customer's
    quiet hours (deferred to their end). ``not_before`` delays it further.
    """
    due = max(not_before or uow.now, uow.now)
    if quiet and user_id is not None and channel == "sms":
        until = get_preferences(uow, user_id).quiet_until(due)
        due = until or due
    return int(uow.conn.execute(
        insert(outbox).values(
            channel=channel, recipient=recipient, template=template, language=language,
            params=params, state="queued", attempts=0, created_at=uow.now,
            next_attempt_at=due, user_id=user_id, quiet=quiet,
        ).returning(outbox.c.id)
    ).scalar_one())


def queued_for(uow: UnitOfWork, recipient: str) -> list[dict[str, Any]]:
    """Messages queued for one recipient, oldest first (support and tests read these)."""
    rows = uow.conn.execute(
        select(outbox).where(outbox.c.recipient == recipient).order_by(outbox.c.id)
    )
    return [dict(r._mapping) for r in rows]


@dataclass(frozen=True)
class OutboxMessage:
    """One outbox row as operators see it."""

    id: int
    channel: str
    recipient: str
    template: str
    language: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    provider_message_id: str | None
    delivery_state: str | None

    @classmethod
    def of(cls, row: Any) -> OutboxMessage:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


def get_message(uow: UnitOfWork, message_id: int) -> OutboxMessage:
    """One outbox message; NotificationNotFound when there is none."""
    row = uow.conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
    if row is None:
        raise NotificationNotFound(f"no notification {message_id}")
    return OutboxMessage.of(row)


def list_messages(uow: UnitOfWork, *, state: str | None = None, limit: int = 50
                  ) -> list[OutboxMessage]:
    """The newest messages, optionally only those in ``state`` (``dead`` for dead letters)."""
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if state is not None:
        if state not in STATES:
            raise NotificationNotFound(f"no state {state!r}; states are {', '.join(STATES)}")
        query = query.where(outbox.c.state == state)
    return [OutboxMessage.of(r) for r in uow.conn.execute(query)]


def retry(uow: UnitOfWork, message_id: int) -> OutboxMessage:
    """Send a dead (or waiting) message again now, with a fresh count of attempts.

    A message being sent or already sent is refused (NotRetryable): retrying it would send
    it twice.
    """
    found = get_message(uow, message_id)
    if found.state not in ("dead", "queued"):
        raise NotRetryable(f"notification {message_id} is {found.state}")
    uow.conn.execute(update(outbox).where(
        outbox.c.id == message_id, outbox.c.state.in_(("dead", "queued"))
    ).values(state="queued", attempts=0, next_attempt_at=uow.now))
    return get_message(uow, message_id)


NOT_AGAIN = frozenset({"password_reset"})  # a one-time code is asked for anew, never re-sent


def messages_to(uow: UnitOfWork, recipients: list[str], user_id: int | None, *,
                limit: int = 20) -> list[OutboxMessage]:
    """The newest messages to any of ``recipients`` or for the customer ``user_id``."""
    cond: Any = outbox.c.recipient.in_(recipients)
    if user_id is not None:
        cond = or_(cond, outbox.c.user_id == user_id)
    rows = uow.conn.execute(select(outbox).where(cond).order_by(outbox.c.id.desc())
                            .limit(limit))
    return [OutboxMessage.of(r) for r in rows]


def resend(uow: UnitOfWork, message_id: int, *, actor_id: int | None) -> int:
    """Queue a new copy of a message (same recipient, template, language and values) for a
    customer who lost it; audited. Password-reset codes are refused (NotRetryable): the
    customer asks for a new one."""
    row = uow.conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
    if row is None:
        raise NotificationNotFound(f"no notification {message_id}")
    if row.template in NOT_AGAIN:
        raise NotRetryable(f"a {row.template} message is never sent again")
    new_id = enqueue(uow, row.channel, row.recipient, row.template, row.language,
                     dict(row.params), user_id=row.user_id, quiet=bool(row.quiet))
    audit(uow, actor_id, "notification.resend", f"notification:{message_id}", copy=new_id)
    return new_id
