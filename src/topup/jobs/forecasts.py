"""The data forecast reminder (``data_forecast``): a line whose data, at its pace, runs out
within ``AHEAD`` days and before its plan ends is told so once per plan (the live data
bucket that ends last), with the plan or top-up that covers the rest and a link to its page.

Only lines that used data in the last day are looked at (a line that did not use any has no
new forecast), those already told about one of their live plans are skipped, and lines are
read in pages by id, so a sweep reads each line once. As for every reminder, the message is
queued in the unit of work that records it as sent.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from sqlalchemy import select

from topup.charging.forecast import RUNS_OUT_FIRST
from topup.charging.outlook import line_outlook, lines_using_data
from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.jobs.tables import reminders_sent as sent
from topup.notifications.recipients import notify_line
from topup.subscribers import lines

KIND = "data_forecast"
AHEAD = 3  # days: told early enough to act, late enough for the pace to mean something
CHANNEL = "reminder"


def _tell(uow: UnitOfWork, line_id: int) -> bool:
    """Queue the reminder for one line if it is due; False when it is not."""
    line = lines.get_line(uow, line_id)
    outlook = line_outlook(uow, line, CHANNEL)
    f, s = outlook.forecast, outlook.suggestion
    if (f.state != RUNS_OUT_FIRST or f.remaining == 0 or f.days_left is None
            or f.days_left >= AHEAD or outlook.subject is None):
        return False  # used up already: ``data_used`` 100 % has said so
    done = uow.conn.execute(insert_ignore(uow, sent, {
        "kind": KIND, "subject_id": outlook.subject, "mark": 0, "line_id": line_id,
        "sent_at": uow.now}, ["kind", "subject_id", "mark"]).returning(sent.c.mark)).first()
    if done is None:
        return False
    notify_line(uow, line_id, KIND, {
        "days_left": f.days_left, "plan_days": f.plan_days, "pace_bytes": f.pace,
        "remaining_bytes": f.remaining, "shortfall_bytes": f.shortfall,
        "suggestion": s.kind if s else None, "plan_en": s.plan_en if s else None,
        "plan_zh": s.plan_zh if s else None, "amount": s.price.amount if s else None,
        "currency": s.price.currency if s else None,
        "link": f"{uow.settings.public_url}/lines/{line_id}"})
    return True


def send_forecasts(db: Database, *, batch: int = 200) -> int:
    """Queue every data forecast reminder now due; returns how many were queued."""
    told, after = 0, 0
    while True:
        ids, queued = db.transact(partial(_page, after, batch), what=KIND)
        told += queued
        if len(ids) < batch:
            return told
        after = ids[-1]


def _page(after: int, batch: int, uow: UnitOfWork) -> tuple[list[int], int]:
    """One page of ``send_forecasts``: the lines looked at, and how many were told."""
    told_before = select(sent.c.subject_id).where(sent.c.kind == KIND)
    ids = lines_using_data(uow, uow.now - timedelta(days=1), told_before, after, batch)
    return ids, sum(_tell(uow, i) for i in ids)
