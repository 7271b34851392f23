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
from topup.payments.saved.interfaces import SavesMethods


def database(settings: Settings | None = None, clock: Clock = system_clock) -> Database:
    """A Database for the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    return Database(make_engine(settings.database_url), settings, clock)


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


def app(db: Database | None = None) -> FastAPI:
    """The ASGI app; ``uvicorn --factory topup.bootstrap:app`` serves it from the environment."""
    from topup.channels.api.app import create_app

    db = db or database()
    providers = payment_providers(db)
    return create_app(db, providers, saved_methods(db, providers))
