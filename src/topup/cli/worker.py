"""``topup worker`` (the background loop: outbox delivery, receipts, inbound SMS) and
``topup notifications`` (list messages, retry dead letters, set a customer's preferences).

The worker stops gracefully on SIGTERM or SIGINT: the message being sent finishes, messages
claimed but not yet tried go back to the queue, and SMPP unbinds.
"""

from __future__ import annotations

import logging
import signal
import threading

import typer
from rich.table import Table

from topup import bootstrap
from topup.cli.common import err, fail, in_unit, opened, out
from topup.db.uow import UnitOfWork
from topup.errors import TopupError

notifications_app = typer.Typer(help="The notification outbox: dead letters, preferences",
                                no_args_is_help=True)
def worker(once: bool = typer.Option(False, "--once",
                                     help="Run every job once, then exit"),
           verbose: bool = typer.Option(False, "--verbose", "-v", help="Log each step")
           ) -> None:
    """Deliver the outbox (e-mail, SMS) and read SMPP receipts and inbound SMS, until
    SIGTERM or SIGINT."""
    from topup.jobs.worker import run

    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with opened() as db:
        s = db.settings
        try:
            senders = bootstrap.senders(s)
        except ValueError as exc:
            raise fail(str(exc)) from None
        if s.notify_lease_seconds <= max(s.smtp_timeout_seconds, s.smpp_timeout_seconds):
            err.print("warning: TOPUP_NOTIFY_LEASE_SECONDS should exceed the SMTP and SMPP "
                      "timeouts, or a slow send may be taken over and sent twice", markup=False)
        try:
            stats = run(db, bootstrap.worker_jobs(db, senders, stop.is_set),
                        stop_event=stop, once=once)
        finally:
            for sender in senders.values():
                sender.close()
    for name, st in stats.items():
        out.print(st.summary(name), markup=False)


@notifications_app.command("list")
def notifications_list(dead: bool = typer.Option(False, "--dead", help="Only dead letters"),
                       state: str = typer.Option(None, help="queued, sending, sent or dead"),
                       limit: int = typer.Option(50, help="At most this many, newest first")
                       ) -> None:
    """List outbox messages, newest first."""
    from topup.notifications.service import list_messages

    with opened() as db:
        try:
            with db.unit(readonly=True) as uow:
                found = list_messages(uow, state="dead" if dead else state, limit=limit)
        except TopupError as exc:
            raise fail(exc.detail) from None
    table = Table(title=f"{len(found)} notifications")
    for col in ("id", "channel", "to", "template", "lang", "state", "tries", "next / sent",
                "delivery", "last error"):
        table.add_column(col)
    for m in found:
        when = (m.sent_at if m.state == "sent" else None) or m.next_attempt_at
        table.add_row(str(m.id), m.channel, m.recipient, m.template, m.language, m.state,
                      str(m.attempts), when.strftime("%Y-%m-%d %H:%M:%S"),
                      m.delivery_state or "-", (m.last_error or "-")[:60])
    out.print(table)


@notifications_app.command("retry")
def notifications_retry(message_id: int = typer.Argument(..., help="The outbox id")) -> None:
    """Queue a dead message again now, with a fresh count of attempts."""
    from topup.notifications.service import retry

    with opened() as db:
        found = in_unit(db, lambda uow: retry(uow, message_id))
    out.print(f"notification {found.id} queued again ({found.channel} to {found.recipient})")


@notifications_app.command("prefs")
def notifications_prefs(
        login: str = typer.Argument(..., help="The customer's e-mail or phone"),
        email: bool = typer.Option(None, "--email/--no-email", help="E-mails on or off"),
        sms: bool = typer.Option(None, "--sms/--no-sms", help="SMS on or off"),
        quiet: str = typer.Option(None, help="Quiet hours HH:MM-HH:MM, or 'off'"),
        tz: str = typer.Option(None, "--timezone", help="IANA time zone, e.g. Asia/Shanghai"),
) -> None:
    """Show or change a customer's notification preferences."""
    from topup.notifications.preferences import KEEP, Preferences, set_preferences
    from topup.subscribers.auth import find_by_login

    window = KEEP if quiet is None else (None if quiet.strip().lower() == "off" else quiet)

    def work(uow: UnitOfWork) -> Preferences:
        row = find_by_login(uow, login)
        if row is None:
            raise fail(f"no user {login}")
        return set_preferences(uow, int(row.id), email=email, sms=sms, timezone=tz,
                               quiet_hours=window)

    with opened() as db:
        prefs = in_unit(db, work)
    out.print(f"{login}: e-mail {'on' if prefs.email else 'off'}, SMS "
              f"{'on' if prefs.sms else 'off'}, quiet hours {prefs.quiet_hours or 'none'} "
              f"({prefs.timezone})")
