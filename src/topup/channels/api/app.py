"""The ASGI application: every router under /api/v1, problem+json errors, health, metrics."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from topup import __version__
from topup.channels.admin import routes as admin_console
from topup.channels.api import (
    admin,
    admin_agents,
    admin_bank,
    admin_catalog,
    admin_promotions,
    admin_vouchers,
    auth,
    auto_topup,
    charging,
    contract,
    docs,
    forecast,
    groups,
    lines,
    orders,
    payment_methods,
    plans,
    pos,
    problems,
    rates,
    receipts,
    store,
    system,
    terminals,
    tickets,
    trips,
    usage,
    vouchers,
    webhooks,
)
from topup.channels.api.fastlane import FastLane
from topup.channels.api.limits import RequestLimits
from topup.channels.payreturn import pages as payreturn_pages
from topup.channels.portal import routes as portal
from topup.channels.pos import routes as pos_pages
from topup.channels.sandbox import pages as sandbox_pages
from topup.channels.sms import inbound as sms_inbound
from topup.channels.ussd import callback as ussd_callback
from topup.db.uow import Database
from topup.esim.inventory import Supplier
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods

API_PREFIX = "/api/v1"


class TopupApp(FastAPI):
    """FastAPI with the request limits, the metrics and the fast lane in front of its own
    middleware stack. The three are pure ASGI and need nothing of Starlette's; in front of it,
    a request the fast lane takes never enters that stack at all. Every other request goes on
    into it exactly as before (its own error guard, exception handlers and routes)."""

    front: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.front is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        await self.front(scope, receive, send)

    def put_in_front(self, db: Database) -> None:
        """Limits (before any byte is read), then metrics (so every answer is counted, the
        500s of the error guard inside too), then the fast lane under an error guard."""
        inner = partial(FastAPI.__call__, self)
        self.front = RequestLimits(system.Measure(problems.ServerErrors(FastLane(inner, db))),
                                   settings=db.settings)


def create_app(db: Database, providers: dict[str, PaymentProvider] | None = None,
               saved_methods: dict[str, SavesMethods] | None = None,
               esim_supplier: Supplier | None = None) -> FastAPI:
    """Build the app around a Database (and the configured payment providers, and the
    SM-DP+ that fills on-demand eSIM pools)."""
    app = TopupApp(
        title=f"{db.settings.operator_name} top-up API", version=__version__,
        description="Prepaid top-up and renewal for travel SIM and eSIM lines. Errors are "
                    "RFC 9457 problem+json with a stable `code`; money is integer minor units.",
        docs_url=None, redoc_url=None,  # served from local files by api/docs.py
        # Metrics are Prometheus at /metrics; FastAPI's own OpenTelemetry hooks would cost
        # every request a look at the tracing setup.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.db = db
    app.state.payment_providers = dict(providers or {})
    app.state.saved_methods = dict(saved_methods or {})
    app.state.esim_supplier = esim_supplier
    # Routes are matched in order, router by router: the busiest (top-ups, orders, usage)
    # come first, each included straight into the app (every level of nesting is matched
    # again on every request).
    for router in (admin.router, orders.router, usage.router, auth.router, plans.router,
                   lines.router, receipts.router, admin_bank.router, admin_catalog.router,
                   webhooks.router, payment_methods.router, payment_methods.pay_router,
                   ussd_callback.router,  # the operator's USSD gateway
                   sms_inbound.router,  # the operator's SMS gateway
                   admin_agents.router, pos.router, terminals.router, vouchers.router,
                   admin_vouchers.router, charging.router, store.router, store.smdp_router,
                   auto_topup.router, groups.router, admin_promotions.router, rates.router,
                   tickets.router, trips.router, forecast.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(system.router)
    app.include_router(docs.router)
    app.include_router(sandbox_pages.router)
    app.include_router(payreturn_pages.router)
    app.include_router(portal.router)  # the traveller portal: /, its pages, /static
    app.include_router(admin_console.router)  # the operator's console under /admin
    app.include_router(pos_pages.router)  # the agent's point of sale under /pos
    problems.install(app)
    app.put_in_front(db)
    contract.install(app)
    return app
