"""The composition root: settings -> engine -> Database -> payment providers -> app."""

from __future__ import annotations

import os

from fastapi import FastAPI

from topup.clock import Clock, system_clock
from topup.config import Settings, load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.payments.interfaces import PaymentProvider
from topup.payments.registry import ProviderContext, load


def database(settings: Settings | None = None, clock: Clock = system_clock) -> Database:
    """A Database for the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    return Database(make_engine(settings.database_url), settings, clock)


def payment_providers(db: Database) -> dict[str, PaymentProvider]:
    """The payment providers named by ``TOPUP_PAYMENT_PROVIDERS`` (default: the sandbox)."""
    ctx = ProviderContext(env=os.environ, settings=db.settings, db=db)
    return load(db.settings.payment_providers, ctx)


def app(db: Database | None = None) -> FastAPI:
    """The ASGI app; ``uvicorn --factory topup.bootstrap:app`` serves it from the environment."""
    from topup.channels.api.app import create_app

    db = db or database()
    return create_app(db, payment_providers(db))
