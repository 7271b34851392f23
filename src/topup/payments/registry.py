"""Choosing payment providers by name from the settings (``TOPUP_PAYMENT_PROVIDERS``).

Each provider package ``topup.payments.providers.<name>`` exposes
``from_settings(ctx: ProviderContext) -> PaymentProvider`` reading its own ``TOPUP_<NAME>_*``
variables; a missing secret is a start-up error that names the variable.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from topup.config import Settings
from topup.db.uow import Database
from topup.payments.interfaces import PaymentProvider

KNOWN = ("sandbox", "stripe", "stripe_checkout", "paypal", "alipay", "wechatpay", "bank")


class ProviderConfigError(ValueError):
    """Raised at start-up when a provider is unknown or its settings are incomplete."""


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may read while it is built."""

    env: Mapping[str, str]
    settings: Settings
    db: Database

    def require(self, name: str) -> str:
        """The variable's value, or a ProviderConfigError naming it."""
        value = self.env.get(name, "").strip()
        if not value:
            raise ProviderConfigError(f"{name} must be set for this payment provider")
        return value


def load(names: tuple[str, ...], ctx: ProviderContext) -> dict[str, PaymentProvider]:
    """Build the named providers, in order."""
    providers: dict[str, PaymentProvider] = {}
    for name in names:
        if name not in KNOWN:
            raise ProviderConfigError(f"unknown payment provider {name!r}; known: {KNOWN}")
        path = f"topup.payments.providers.{name}"
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:
                raise
            raise ProviderConfigError(f"payment provider {name!r} is not available yet") from exc
        providers[name] = module.from_settings(ctx)
    return providers
