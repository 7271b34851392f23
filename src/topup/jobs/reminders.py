"""Reminders, each sent once per bucket (or wallet round) and threshold:

- ``plan_expiring`` 3 days and 1 day before a plan ends (not for a plan already renewed, nor
  on a line with auto-renew, which gets ``renewal_upcoming`` a day before instead);
- ``data_used`` when 80 % and when 100 % of a plan's data is used;
- ``low_balance`` when a wallet falls below the operator's floor for its currency; a later
  top-up re-arms it;
- ``data_forecast`` when, at the line's pace, its data runs out within 3 days and before the
  plan ends (``forecasts.py``), once per plan;
- ``line_suspending`` a day before a line in grace is suspended (``notices.py``).

Each reminder is queued in the outbox in the same unit of work that records it as sent, so a
sweep interrupted half-way neither loses nor repeats one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import Select, select

from topup.catalog import service as catalog
from topup.charging import buckets
from topup.db.dialect import insert_ignore
from topup.db.uow import Database, UnitOfWork
from topup.jobs.forecasts import send_forecasts
from topup.jobs.notices import send_suspension_notices
from topup.jobs.tables import reminders_sent as sent
from topup.ledger import service as ledger
from topup.notifications.recipients import notify_line
from topup.subscribers import lines

EXPIRY = (("expiry_3d", timedelta(days=3)), ("expiry_1d", timedelta(days=1)))
DATA = (("data_80", 80), ("data_100", 100))


def _done(kind: str) -> Select[Any]:
    return select(sent.c.subject_id).where(sent.c.kind == kind)


def _remember(uow: UnitOfWork, kind: str, subject: int, line_id: int, mark: int = 0) -> bool:
    """Record the reminder; False when it was sent already (another sweep got there)."""
    done = uow.conn.execute(insert_ignore(uow, sent, {
        "kind": kind, "subject_id": subject, "mark": mark, "line_id": line_id,
        "sent_at": uow.now}, ["kind", "subject_id", "mark"]).returning(sent.c.mark)).first()
    return done is not None


def _expiry(uow: UnitOfWork, limit: int) -> int:
    count = 0
    rounds = [(kind, ahead, lines.auto_renew_lines(False), "plan_expiring")
              for kind, ahead in EXPIRY]
    rounds.append(("renewal_1d", timedelta(days=1), lines.auto_renew_lines(),
                   "renewal_upcoming"))
    for kind, ahead, which, template in rounds:
        for bucket_id, line_id, plan_id, ends in buckets.ending_by(
                uow, uow.now + ahead, which, _done(kind), limit):
            if _remember(uow, kind, bucket_id, line_id):
                plan = catalog.get_plan(uow, plan_id)
                notify_line(uow, line_id, template, {
                    "plan_en": plan.name_en, "plan_zh": plan.name_zh,
                    "expires_at": ends.isoformat()})
                count += 1
    return count


def _data(uow: UnitOfWork, limit: int) -> int:
    count = 0
    for kind, percent in DATA:
        for bucket_id, line_id, total, remaining in buckets.data_used(
                uow, percent, _done(kind), limit):
            if _remember(uow, kind, bucket_id, line_id):
                notify_line(uow, line_id, "data_used", {
                    "percent": percent, "total_bytes": total, "remaining_bytes": remaining})
                count += 1
    return count


def _low_balance(uow: UnitOfWork, limit: int) -> int:
    floors = {ledger.money_unit(cur): amount for cur, amount in uow.settings.low_balance.items()}
    skip = select(sent.c.subject_id, sent.c.mark).where(sent.c.kind == "low_balance")
    count = 0
    for account, line_id, unit, available, credits in ledger.wallets_below(
            uow, floors, skip, limit):
        if _remember(uow, "low_balance", account, line_id, mark=credits):
            currency = str(ledger.currency_of(unit))
            notify_line(uow, line_id, "low_balance", {
                "amount": available, "currency": currency})
            count += 1
    return count


def _run(sweep: Callable[[UnitOfWork, int], int], batch: int, uow: UnitOfWork) -> int:
    return sweep(uow, batch)


def send_reminders(db: Database, *, batch: int = 500) -> int:
    """Queue every reminder now due; returns how many were queued."""
    total = 0
    for sweep in (_expiry, _data, _low_balance):
        while True:
            count = db.transact(partial(_run, sweep, batch), what=f"reminders {sweep.__name__}")
            total += count
            if count < batch:
                break
    return total + send_forecasts(db) + send_suspension_notices(db)
