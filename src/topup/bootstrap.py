"""The composition root: settings -> engine -> Database -> payment providers -> app."""

from __future__ import annotations

from fastapi import FastAPI

from topup.clock import Clock, system_clock
from topup.config import Settings, load_settings
from topup.db.engine import make_engine
from topup.db.uow import Database
from topup.payments.interfaces import PaymentProvider


def database(settings: Settings | None = None, clock: Clock = system_clock) -> Database:
    """A Database for the settings (read from the environment when not given)."""
    settings = settings or load_settings()
    return Database(make_engine(settings.database_url), settings, clock)


def payment_providers(settings: Settings) -> dict[str, PaymentProvider]:
    """Payment providers chosen by the settings. None are configured yet: card, PayPal, Alipay,
    WeChat Pay, bank transfer and the sandbox arrive with the payments work (README: planned)."""
    return {}


def app(db: Database | None = None) -> FastAPI:
    """The ASGI app; ``uvicorn --factory topup.bootstrap:app`` serves it from the environment."""
    from topup.channels.api.app import create_app

    db = db or database()
    return create_app(db, payment_providers(db.settings))
