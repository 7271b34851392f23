"""The composition root: settings -> engine -> Database -> payment providers -> app."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

import topup.handlers  # noqa: F401  (registers the domain event handlers: the wiring)
from topup.clock import Clock, system_clock
from topup.config import Settings, load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.jobs.worker import Job
from topup.notifications.interfaces import Sender
from topup.payments.interfaces import PaymentProvider
from topup.payments.registry import ProviderContext, load
from topup.payments.saved.interfaces import SavesMethods


def database(settings: Settings | None = None, clock: Clock = system_clock) -> Database:
    """A Database for the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    return Database(make_engine(settings.database_url, pooler=settings.database_pooler),
                    settings, clock)


def payment_providers(db: Database) -> dict[str, PaymentProvider]:
    """The payment providers named by ``TOPUP_PAYMENT_PROVIDERS`` (default: the sandbox)."""
    ctx = ProviderContext(env=os.environ, settings=db.settings, db=db)
    return load(db.settings.payment_providers, ctx)


def saved_methods(db: Database, providers: dict[str, PaymentProvider]
                  ) -> dict[str, SavesMethods]:
    """Providers that can keep a payer's method for later (auto-renew): Stripe today."""
    if "stripe" not in providers:
        return {}
    from topup.payments.providers.stripe import saved as stripe_saved

    ctx = ProviderContext(env=os.environ, settings=db.settings, db=db)
    return {"stripe": stripe_saved.from_settings(ctx)}


SWITCH_INTERVAL = 0.0005  # seconds
GC_YOUNG = 20_000  # allocations between collections of the youngest generation (default 700)


def tune_process() -> None:
    """What every long-lived process (the API workers, the writer process, the Gy server)
    sets once it has built what it keeps for its life.

    - The writer thread waits on the database while another thread runs Python; each time an
      answer arrives it must win the GIL back, which by default takes up to 5 ms: per
      statement, that would be the writer's pace. Hand the GIL over sooner.
    - Everything built so far lives as long as the process: ``gc.freeze`` keeps the collector
      from walking it again and again (a full collection over it stalled requests for
      ~100 ms). A batch of the writer makes tens of thousands of short-lived objects, some in
      cycles; with the default threshold the collector ran every 700 allocations and took
      ~18 % of the writer's time (bench/charging.py); at ``GC_YOUNG`` it takes ~2 %, and what
      it holds meanwhile is a few MB.
    """
    sys.setswitchinterval(SWITCH_INTERVAL)
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG, middle, old)


def app(db: Database | None = None) -> FastAPI:
    """The ASGI app; ``uvicorn --factory topup.bootstrap:app`` serves it from the environment."""
    from topup.channels.api.app import create_app

    db = db or database()
    providers = payment_providers(db)
    from topup.esim import ondemand

    served = create_app(db, providers, saved_methods(db, providers),
                        ondemand.from_settings(db.settings))
    if db.settings.embedded_worker:
        served.router.lifespan_context = _embedded_worker(db, providers)
    tune_process()
    return served


def senders(settings: Settings) -> dict[str, Sender]:
    """The e-mail and SMS senders named by ``TOPUP_EMAIL_BACKEND`` (smtp | console) and
    ``TOPUP_SMS_BACKEND`` (smpp | console); console, the default, prints instead of sending."""
    from topup.notifications.senders.console import ConsoleSender
    from topup.notifications.senders.smpp import SmppConfig, SmppSender
    from topup.notifications.senders.smtp import SmtpConfig, SmtpSender

    s = settings
    email: dict[str, Callable[[], Sender]] = {
        "console": lambda: ConsoleSender("email"),
        "smtp": lambda: SmtpSender(SmtpConfig(
            s.smtp_host, s.smtp_port, s.smtp_user, s.smtp_password, s.smtp_starttls,
            s.smtp_from, s.operator_name, float(s.smtp_timeout_seconds)))}
    sms: dict[str, Callable[[], Sender]] = {
        "console": lambda: ConsoleSender("sms"),
        "smpp": lambda: SmppSender(SmppConfig(
            s.smpp_host, s.smpp_port, s.smpp_system_id, s.smpp_password, s.smpp_system_type,
            s.smpp_source_addr, float(s.smpp_enquire_link_seconds),
            float(s.smpp_timeout_seconds)))}
    if s.email_backend not in email:
        raise ValueError(f"TOPUP_EMAIL_BACKEND is smtp or console, not {s.email_backend!r}")
    if s.sms_backend not in sms:
        raise ValueError(f"TOPUP_SMS_BACKEND is smpp or console, not {s.sms_backend!r}")
    return {"email": email[s.email_backend](), "sms": sms[s.sms_backend]()}


def worker_jobs(db: Database, by_channel: dict[str, Sender],
                should_stop: Callable[[], bool] = lambda: False,
                providers: dict[str, PaymentProvider] | None = None) -> list[Job]:
    """What ``topup worker`` runs: outbox delivery; reading receipts and inbound SMS from
    senders that receive (SMPP), handed to the SMS keyword handler; and the schedules
    (auto-renew, reminders, expiry, the line lifecycle, voucher holds, reconciliation), each
    once per slot across every worker."""
    from topup.channels.sms.keywords import handle_inbound
    from topup.jobs.schedule import lifecycle_jobs
    from topup.notifications.delivery import OutboxJob
    from topup.notifications.interfaces import Receives
    from topup.notifications.receipts import InboundRouter, ReceiveJob
    from topup.orders.renewals import Payers

    poll = float(db.settings.worker_poll_seconds)
    jobs: list[Job] = [OutboxJob(by_channel, interval=poll, batch=db.settings.notify_batch_size,
                                 should_stop=should_stop)]
    for sender in by_channel.values():
        if isinstance(sender, Receives):
            sender.attach(InboundRouter(db, handle_inbound))
            jobs.append(ReceiveJob(sender, interval=min(poll, 1.0)))
    providers = payment_providers(db) if providers is None else providers
    jobs += lifecycle_jobs(providers, Payers(providers, saved_methods(db, providers)))
    return jobs


def _embedded_worker(db: Database, providers: dict[str, PaymentProvider]
                     ) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The worker loop in a thread of the server process (``TOPUP_EMBEDDED_WORKER``), for
    an installation that runs ``topup serve`` alone; stopped with the server."""
    from topup.jobs.worker import run

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        by_channel = senders(db.settings)
        jobs = worker_jobs(db, by_channel, stop.is_set, providers)
        thread = threading.Thread(target=run, args=(db, jobs), kwargs={"stop_event": stop},
                                  name="topup-embedded-worker", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(30)
            for sender in by_channel.values():
                sender.close()

    return lifespan
