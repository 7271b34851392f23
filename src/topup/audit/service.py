"""Recording and reading staff actions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select

from topup.audit.tables import audit_log
from topup.db.uow import UnitOfWork


def record(
    uow: UnitOfWork, actor_id: int | None, action: str, target: str, *,
    reason: str | None = None, **data: Any,
) -> None:
    """Append one entry in the caller's transaction (so it exists iff the action happened)."""
    uow.conn.execute(insert(audit_log).values(
        at=uow.now, actor_id=actor_id, action=action, target=target, reason=reason, data=data,
    ))


def entries(uow: UnitOfWork, target: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Newest entries first, optionally for one target such as ``line:7``."""
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if target:
        query = query.where(audit_log.c.target == target)
    return [dict(r._mapping) for r in uow.conn.execute(query)]
