"""Notices of the line lifecycle, with how to restore the line: ``line_grace`` when a line
enters grace (queued in the unit of work that moves it), and ``line_suspending`` a day before
a line in grace is suspended (once per stay in grace: the reminder's mark is when the stay
began). A top-up or a plan restores the line at once, so both say when, and link to the
line's page, where the traveller tops up or buys a plan.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.jobs.tables import reminders_sent as sent
from topup.notifications.recipients import notify_line, notify_lines
from topup.subscribers import lifecycle

AHEAD = timedelta(days=1)
SUSPENDING = "suspend_1d"


def _params(uow: UnitOfWork, line_id: int, suspend_at: datetime) -> dict[str, object]:
    return {"number": lifecycle.numbers_of(uow, [line_id])[line_id],
            "suspend_at": suspend_at.isoformat(),
            "link": f"{uow.settings.public_url}/lines/{line_id}"}


def tell_grace(uow: UnitOfWork, line_ids: list[int]) -> None:
    """Tell the travellers of lines that just entered grace (now) when they are suspended;
    a sweep moves thousands at once, so their messages are written together."""
    if not line_ids:
        return
    when = (uow.now + timedelta(days=uow.settings.grace_days)).isoformat()
    notify_lines(uow, [(line_id, {
        "number": number, "suspend_at": when,
        "link": f"{uow.settings.public_url}/lines/{line_id}"})
        for line_id, number in lifecycle.numbers_of(uow, line_ids).items()], "line_grace")


def send_suspension_notices(db: Database, *, batch: int = 500) -> int:
    """Queue ``line_suspending`` for every line in grace suspended within a day; returns how
    many were queued."""
    told, after = 0, 0
    while True:
        due, queued = db.transact(partial(_suspending, after, batch),
                                  what="suspension notices")
        told += queued
        if len(due) < batch:
            return told
        after = due[-1]


def _suspending(after: int, batch: int, uow: UnitOfWork) -> tuple[list[int], int]:
    """One batch of ``send_suspension_notices``: the lines looked at, and how many were told."""
    grace = timedelta(days=uow.settings.grace_days)
    due = lifecycle.in_state_since(uow, "grace", uow.now + AHEAD - grace, after, batch)
    told = 0
    for line_id, since in due:
        mark = int(since.timestamp())
        if uow.conn.execute(insert_ignore(uow, sent, {
                "kind": SUSPENDING, "subject_id": line_id, "mark": mark,
                "line_id": line_id, "sent_at": uow.now},
                ["kind", "subject_id", "mark"]).returning(sent.c.mark)).first():
            notify_line(uow, line_id, "line_suspending", _params(uow, line_id, since + grace))
            told += 1
    return [line_id for line_id, _ in due], told
