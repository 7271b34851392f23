"""The scheduled jobs, in the order one sweep runs them, and how often each is due.

Renewals come before auto top-ups (a renewal paid from the wallet may take it below a
threshold), and before expiry (a plan is bought again before its bucket ends), expiry before
the line lifecycle (a line whose last plan just ended is then seen empty), and voucher holds
and silent charging sessions are released before the ledger voids what is left of pending
transfers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from topup.charging.sessions import release_silent
from topup.db.uow import Database
from topup.esim import store as esim_store
from topup.jobs.claims import Claimed, SlotTaken
from topup.jobs.lifecycle import advance_lines, expire_buckets
from topup.jobs.reminders import send_reminders
from topup.ledger import service as ledger
from topup.orders import autotopup_runs, renewals
from topup.payments.interfaces import PaymentProvider
from topup.payments.service import reconcile
from topup.promotions.books import credit_cashback
from topup.promotions.points import expire as expire_points
from topup.promotions.referrals import credit_due as credit_referrals
from topup.subscribers.throttle import purge as purge_throttles
from topup.support.pending import open_for_late_payments
from topup.vouchers.redemption import release_stale
from topup.vouchers.sales import expire_vouchers


def _renew(payers: renewals.Payers) -> Callable[[Database], int]:
    def run(db: Database) -> int:
        renewals.take_up(db)
        return sum(renewals.renew(db, b, payers).state == "renewed"
                   for b in renewals.due(db))
    return run


def _auto_topup(payers: renewals.Payers) -> Callable[[Database], int]:
    def run(db: Database) -> int:
        return autotopup_runs.run(db, payers)
    return run


def _until_done(work: Callable[..., int]) -> Callable[[Database], int]:
    def run(db: Database) -> int:
        total = 0
        while True:
            done = db.transact(lambda uow: work(uow, 500), what=getattr(work, "__name__", "job"))
            total += done
            if done < 500:
                return total
    return run


def _reconcile(providers: Mapping[str, PaymentProvider]) -> Callable[[Database], int]:
    def run(db: Database) -> int:
        result = reconcile(db, dict(providers))
        return result.settled + result.failed + result.expired
    return run


def lifecycle_jobs(providers: Mapping[str, PaymentProvider], payers: renewals.Payers
                   ) -> list[Claimed]:
    """Every scheduled job of the platform, in sweep order, each once per slot."""
    return [
        Claimed("auto_renew", timedelta(minutes=5), _renew(payers)),
        Claimed("auto_topup", timedelta(minutes=1), _auto_topup(payers)),
        Claimed("reminders", timedelta(minutes=15), send_reminders),
        Claimed("expire_buckets", timedelta(minutes=5), expire_buckets),
        Claimed("line_lifecycle", timedelta(hours=1),
                lambda db: sum(advance_lines(db).values())),
        Claimed("voucher_holds", timedelta(minutes=1), _until_done(release_stale)),
        Claimed("voucher_expiry", timedelta(hours=1), _until_done(expire_vouchers)),
        Claimed("charging_sessions", timedelta(minutes=1), _until_done(release_silent)),
        Claimed("pending_transfers", timedelta(minutes=1), _until_done(ledger.void_expired)),
        Claimed("reconcile_payments", timedelta(minutes=2), _reconcile(providers)),
        # after reconciliation: a payment that did arrive is settled, not ticketed
        Claimed("late_payments", timedelta(minutes=5), open_for_late_payments),
        Claimed("throttle_counters", timedelta(hours=1), _until_done(purge_throttles)),
        Claimed("esim_reservations", timedelta(minutes=1), esim_store.sweep),
        Claimed("esim_stock", timedelta(minutes=15), lambda db: len(esim_store.low_stock(db))),
        Claimed("cashback", timedelta(hours=1), _until_done(credit_cashback)),
        Claimed("points_expiry", timedelta(hours=6), _until_done(expire_points)),
        Claimed("referrals", timedelta(hours=1), _until_done(credit_referrals)),
        # PostgreSQL: this month's and the next months' partitions of the logs, and an empty
        # id range ahead for transfers and orders (at start, then daily); nothing on SQLite
        Claimed("partitions", timedelta(hours=24), make_partitions),
    ]


def make_partitions(db: Database) -> int:
    """Make the partitions due (``topup db partitions``); how many were made."""
    if db.engine.dialect.name != "postgresql":
        return 0
    from topup.db.partitions import ensure_partitions

    return len(ensure_partitions(db.engine, db.clock(), db.settings.partition_id_span))


def sweep(db: Database, jobs: list[Claimed]) -> dict[str, int]:
    """Run every job once, in order (tests); returns what each did (0 also when another
    worker had its slot)."""
    done: dict[str, int] = {}
    for job in jobs:
        try:
            done[job.name] = job.run(db)
        except SlotTaken:
            done[job.name] = 0
    return done
