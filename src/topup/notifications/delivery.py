"""Delivering the outbox: claim → (renew the lease) → send → mark, one message at a time.

1. **Claim** (one transaction): due rows — ``queued`` whose ``next_attempt_at`` has come, or
   ``sending`` whose lease expired (its worker died) — become ``sending``, leased to this
   worker (``claimed_by``, ``claimed_until``) with one more attempt counted. PostgreSQL skips
   rows other workers hold (``FOR UPDATE SKIP LOCKED``); SQLite's single writer serialises
   claims. An SMS in its customer's quiet hours is not claimed but moved to their end.
2. **Renew** the lease just before sending (a short transaction that also proves the row is
   still ours), so a slow batch never lets a lease lapse under a message being sent.
3. **Send** outside any transaction. The sender reports every accepted part at once, and
   ``record_accepted`` commits it there and then — the last part marks the row ``sent``.
4. **Fail**: a temporary failure re-queues with exponential back-off
   (``base · 2^(attempts-1)``, capped); a permanent one, or the last allowed attempt, makes
   the row ``dead`` (``topup notifications retry <id>`` revives it).

What this guarantees is written down in docs/notifications.md ("No loss, no duplicates").
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.notifications.errors import DeliveryFailed, TemporaryFailure
from topup.notifications.interfaces import Email, Message, Sender, Sms
from topup.notifications.preferences import get_preferences
from topup.notifications.rendering import render
from topup.notifications.tables import outbox, submissions

log = logging.getLogger(__name__)


def worker_name() -> str:
    """This process's name in ``claimed_by``: host, pid and a random tag."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds the lease on."""

    id: int
    channel: str
    recipient: str
    template: str
    language: str
    params: dict[str, Any]
    user_id: int | None
    attempts: int


def _due(uow: UnitOfWork) -> Any:
    return or_(
        and_(outbox.c.state == "queued", outbox.c.next_attempt_at <= uow.now),
        and_(outbox.c.state == "sending", outbox.c.claimed_until < uow.now),
    )


def _quiet_until(uow: UnitOfWork, row: Any) -> Any:
    if row.channel != "sms" or not row.quiet or row.user_id is None:
        return None
    return get_preferences(uow, row.user_id).quiet_until(uow.now)


def claim(db: Database, worker: str, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due messages to ``worker`` (see the module docstring)."""
    def work(uow: UnitOfWork) -> list[Claimed]:
        query = select(outbox).where(_due(uow)).order_by(
            outbox.c.next_attempt_at, outbox.c.id).limit(limit)
        if uow.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        taken: list[Claimed] = []
        for row in uow.conn.execute(query).all():
            until = _quiet_until(uow, row)
            if until is not None:
                uow.conn.execute(update(outbox).where(outbox.c.id == row.id).values(
                    state="queued", next_attempt_at=until, claimed_by=None,
                    claimed_until=None))
                continue
            if row.state == "sending":
                log.warning("outbox #%s: lease of %s expired; taking it over", row.id,
                            row.claimed_by)
            taken.append(Claimed(row.id, row.channel, row.recipient, row.template,
                                 row.language, dict(row.params), row.user_id,
                                 row.attempts + 1))
        if taken:
            uow.conn.execute(update(outbox).where(outbox.c.id.in_([c.id for c in taken]))
                             .values(state="sending", claimed_by=worker,
                                     claimed_until=_lease_end(uow),
                                     attempts=outbox.c.attempts + 1))
        return taken

    return db.transact(work, what="outbox claim")


def _lease_end(uow: UnitOfWork) -> Any:
    return uow.now + timedelta(seconds=uow.settings.notify_lease_seconds)


def _mine(row_id: int, worker: str) -> Any:
    return and_(outbox.c.id == row_id, outbox.c.claimed_by == worker,
                outbox.c.state == "sending")


def renew(db: Database, claimed: Claimed, worker: str) -> tuple[int, str] | None:
    """Extend the lease before sending; the parts accepted before and the reader's time
    zone, or None when the row is no longer ours."""
    def work(uow: UnitOfWork) -> tuple[int, str] | None:
        res = uow.conn.execute(update(outbox).where(_mine(claimed.id, worker))
                               .values(claimed_until=_lease_end(uow)))
        if res.rowcount != 1:
            return None
        done = uow.conn.execute(select(func.count()).select_from(submissions).where(
            submissions.c.outbox_id == claimed.id)).scalar_one()
        zone = get_preferences(uow, claimed.user_id).timezone if claimed.user_id else "UTC"
        return int(done), zone

    return db.transact(work, what="outbox lease")


def message_id(settings: Any, outbox_id: int) -> str:
    """The e-mail Message-ID of an outbox row: the same on every attempt, unique per
    installation (a tag derived from the secret key) and per row."""
    tag = hmac.new(settings.secret_key.encode(), b"message-id", hashlib.sha256).hexdigest()
    domain = settings.smtp_from.rpartition("@")[2] or "localhost"
    return f"<outbox-{outbox_id}.{tag[:12]}@{domain}>"


def build(db: Database, claimed: Claimed, skip_parts: int, timezone: str) -> Message:
    """Render a claimed row into what its sender sends (PermanentFailure if it cannot be)."""
    s = db.settings
    text = render(claimed.template, claimed.channel, claimed.language, claimed.params,
                  operator=s.operator_name, timezone=timezone)
    if claimed.channel == "sms":
        return Sms(claimed.id, claimed.recipient, text.text, skip_parts)
    return Email(claimed.id, claimed.recipient, text.subject, text.text, text.html,
                 claimed.language, message_id(s, claimed.id), text.images,
                 str(claimed.params.get("reply_to") or ""))


def record_accepted(db: Database, outbox_id: int, worker: str, part: int, parts: int,
                    provider_id: str) -> None:
    """The provider took ``part`` of ``parts``: keep it; after the last, the row is sent."""
    def work(uow: UnitOfWork) -> None:
        uow.conn.execute(insert_ignore(uow, submissions, {
            "outbox_id": outbox_id, "part": part, "parts": parts,
            "provider_message_id": provider_id[:200], "delivery_state": "SUBMITTED",
            "submitted_at": uow.now}, ["outbox_id", "part"]))
        if part < parts:
            uow.conn.execute(update(outbox).where(_mine(outbox_id, worker))
                             .values(claimed_until=_lease_end(uow)))
            return
        first = uow.conn.execute(select(submissions.c.provider_message_id).where(
            submissions.c.outbox_id == outbox_id).order_by(submissions.c.part).limit(1)
        ).scalar_one()
        row = uow.conn.execute(select(outbox.c.channel, outbox.c.claimed_by).where(
            outbox.c.id == outbox_id)).one()
        if row.claimed_by != worker:
            log.warning("outbox #%s sent by %s while leased to %s", outbox_id, worker,
                        row.claimed_by)
        uow.conn.execute(update(outbox).where(
            outbox.c.id == outbox_id, outbox.c.state == "sending").values(
            state="sent", sent_at=uow.now, provider_message_id=first, last_error=None,
            delivery_state="SUBMITTED" if row.channel == "sms" else None,
            claimed_by=None, claimed_until=None))

    db.transact(work, what="outbox accepted")


def backoff_seconds(attempts: int, base: int, cap: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: base, 2·base, 4·base … cap."""
    return int(min(cap, base * 2 ** max(0, attempts - 1)))


def record_failure(db: Database, claimed: Claimed, worker: str, exc: DeliveryFailed) -> str:
    """Re-queue with back-off, or make the row dead; returns the new state."""
    def work(uow: UnitOfWork) -> tuple[bool, int]:
        s = uow.settings
        dead = exc.permanent or claimed.attempts >= s.notify_max_attempts
        wait = backoff_seconds(claimed.attempts, s.notify_retry_base_seconds,
                               s.notify_retry_max_seconds)
        values: dict[str, Any] = {"last_error": str(exc)[:500], "claimed_by": None,
                                  "claimed_until": None}
        if dead:
            values.update(state="dead")
        else:
            values.update(state="queued", next_attempt_at=uow.now + timedelta(seconds=wait))
        uow.conn.execute(update(outbox).where(_mine(claimed.id, worker)).values(**values))
        return dead, wait

    dead, wait = db.transact(work, what="outbox failure")
    level = logging.ERROR if dead else logging.WARNING
    log.log(level, "outbox #%s %s after attempt %s: %s", claimed.id,
            "dead" if dead else f"retry in {wait}s", claimed.attempts, exc)
    return "dead" if dead else "queued"


def release(db: Database, claimed: list[Claimed], worker: str) -> None:
    """Hand back rows claimed but not attempted (the worker is stopping)."""
    if not claimed:
        return

    def work(uow: UnitOfWork) -> None:
        for c in claimed:
            uow.conn.execute(update(outbox).where(_mine(c.id, worker)).values(
                state="queued", claimed_by=None, claimed_until=None,
                attempts=outbox.c.attempts - 1))

    db.transact(work, what="outbox release")


def deliver(db: Database, sender: Sender, claimed: Claimed, worker: str) -> str:
    """Send one claimed message; returns ``sent``, ``queued``, ``dead`` or ``lost`` (the
    lease had passed to another worker, nothing was sent)."""
    held = renew(db, claimed, worker)
    if held is None:
        return "lost"
    skip, zone = held

    def accepted(part: int, parts: int, provider_id: str) -> None:
        record_accepted(db, claimed.id, worker, part, parts, provider_id)

    try:
        sender.send(build(db, claimed, skip, zone), accepted)
    except DeliveryFailed as exc:
        return record_failure(db, claimed, worker, exc)
    return "sent"


class OutboxJob:
    """The worker job that delivers the outbox (``topup.jobs.worker.Job``)."""

    name = "outbox"

    def __init__(self, senders: Mapping[str, Sender], *, interval: float, batch: int,
                 worker: str | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> None:
        self.senders = dict(senders)
        self.interval = interval
        self.batch = batch
        self.worker = worker or worker_name()
        self.should_stop = should_stop

    def run(self, db: Database) -> int:
        """Deliver one batch; the number of messages attempted."""
        claimed = claim(db, self.worker, self.batch)
        for i, row in enumerate(claimed):
            if self.should_stop():
                release(db, claimed[i:], self.worker)
                return i
            sender = self.senders.get(row.channel)
            if sender is None:
                record_failure(db, row, self.worker,
                               TemporaryFailure(f"no sender for channel {row.channel}"))
                continue
            try:
                deliver(db, sender, row, self.worker)
            except Exception as exc:
                # A bug in a sender must not stall the batch; the attempt counts, so a
                # message that always breaks it ends up dead instead of looping.
                log.exception("outbox #%s: unexpected error", row.id)
                record_failure(db, row, self.worker, TemporaryFailure(f"unexpected: {exc!r}"))
        return len(claimed)
