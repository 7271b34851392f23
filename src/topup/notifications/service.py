"""Writing to the outbox. Delivery by ``topup worker`` over SMTP/SMPP is planned (issue 6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from topup.db.uow import UnitOfWork
from topup.notifications.tables import outbox


def enqueue(
    uow: UnitOfWork, channel: str, recipient: str, template: str, language: str,
    params: dict[str, Any],
) -> int:
    """Queue one message in the caller's transaction; it goes out only if that commits."""
    return int(uow.conn.execute(
        insert(outbox).values(
            channel=channel, recipient=recipient, template=template, language=language,
            params=params, state="queued", attempts=0, created_at=uow.now,
        ).returning(outbox.c.id)
    ).scalar_one())


def queued_for(uow: UnitOfWork, recipient: str) -> list[dict[str, Any]]:
    """Messages queued for one recipient, oldest first (support and tests read these)."""
    rows = uow.conn.execute(
        select(outbox).where(outbox.c.recipient == recipient).order_by(outbox.c.id)
    )
    return [dict(r._mapping) for r in rows]
