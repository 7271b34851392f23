"""What providers push back: delivery receipts (recorded on the parts and the outbox row) and
inbound SMS (handed to the SMS keyword handler), polled by the worker's ``ReceiveJob``.

A message's ``delivery_state`` sums up its parts: a failure state (``UNDELIV``, ``EXPIRED``,
``REJECTD``, ``DELETED``) if any part failed, ``DELIVRD`` once every part was delivered, else
the furthest state reported so far.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update

from topup.db.uow import Database, UnitOfWork
from topup.notifications.errors import DeliveryFailed
from topup.notifications.interfaces import InboundSms, Receipt, Receives
from topup.notifications.tables import outbox, submissions

log = logging.getLogger(__name__)

FAILED = ("REJECTD", "UNDELIV", "EXPIRED", "DELETED")
_PENDING = ("UNKNOWN", "ACCEPTD", "ENROUTE", "SUBMITTED")


def receipt_ids(provider_id: str) -> list[str]:
    """The spellings an SMSC may use for one id: as given, and hex <-> decimal (several SMSCs
    answer ``submit_sm`` in hex but report in decimal)."""
    found = [provider_id]
    if provider_id.isdigit():
        found += [format(int(provider_id), "x"), format(int(provider_id), "X")]
    else:
        with contextlib.suppress(ValueError):
            found.append(str(int(provider_id, 16)))
    return list(dict.fromkeys(found))


def summary(states: list[str], parts: int) -> str:
    """One state for a message from the states of its parts."""
    for state in FAILED:
        if state in states:
            return state
    if len(states) == parts and all(s == "DELIVRD" for s in states):
        return "DELIVRD"
    for state in _PENDING:
        if state in states:
            return state
    return "SUBMITTED"


def record_receipt(db: Database, receipt: Receipt) -> bool:
    """Apply a receipt to the part it names; False when no part has that id."""
    def work(uow: UnitOfWork) -> bool:
        row = uow.conn.execute(select(submissions).where(
            submissions.c.provider_message_id.in_(receipt_ids(receipt.provider_message_id))
        ).order_by(submissions.c.id.desc()).limit(1)).first()
        if row is None:
            log.warning("receipt for unknown message id %s (%s)", receipt.provider_message_id,
                        receipt.state)
            return False
        uow.conn.execute(update(submissions).where(submissions.c.id == row.id).values(
            delivery_state=receipt.state, error_code=receipt.error_code, reported_at=uow.now))
        states = list(uow.conn.execute(select(submissions.c.delivery_state).where(
            submissions.c.outbox_id == row.outbox_id)).scalars())
        uow.conn.execute(update(outbox).where(outbox.c.id == row.outbox_id).values(
            delivery_state=summary(states, row.parts), delivery_reported_at=uow.now))
        return True

    return db.transact(work, what="receipt")


class InboundRouter:
    """The ``InboundHandler`` the composition root attaches: receipts to the outbox, inbound
    SMS to ``on_message(db, sender, text)`` (the SMS keyword handler)."""

    def __init__(self, db: Database,
                 on_message: Callable[[Database, str, str], Any] | None) -> None:
        self.db = db
        self.on_message = on_message

    def receipt(self, receipt: Receipt) -> None:
        """Record a delivery receipt."""
        record_receipt(self.db, receipt)

    def message(self, sms: InboundSms) -> None:
        """Hand an inbound SMS to the keyword handler (refused when none is wired, so the
        SMSC keeps it and retries)."""
        if self.on_message is None:
            raise RuntimeError("no inbound SMS handler is configured")
        self.on_message(self.db, sms.sender, sms.text)


class ReceiveJob:
    """The worker job that reads what a receiving sender's provider pushed."""

    name = "receive"

    def __init__(self, receiver: Receives, *, interval: float) -> None:
        self.receiver = receiver
        self.interval = interval
        self._down = False

    def run(self, db: Database) -> int:
        """Poll the link once; the receipts and messages handled. A link that is down is
        logged once (when it goes down) and tried again at the next run."""
        try:
            handled = self.receiver.poll()
        except DeliveryFailed as exc:
            if not self._down:
                log.warning("receiving stopped: %s (reconnecting)", exc)
            self._down = True
            return 0
        if self._down:
            log.warning("receiving again")
        self._down = False
        return handled
