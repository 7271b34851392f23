"""The sandbox payment provider (test mode, no network)."""

from __future__ import annotations

from topup.payments.providers.sandbox.provider import SandboxProvider
from topup.payments.registry import ProviderContext


def from_settings(ctx: ProviderContext) -> SandboxProvider:
    """Build the sandbox; it needs no secrets of its own."""
    return SandboxProvider(ctx.db, ctx.settings.secret_key, ctx.settings.public_url)


__all__ = ["SandboxProvider", "from_settings"]
