"""The ASGI application: every router under /api/v1, problem+json errors, health, metrics."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from topup import __version__
from topup.channels.admin import routes as admin_console
from topup.channels.api import (
    admin,
    admin_agents,
    admin_bank,
    admin_catalog,
    admin_vouchers,
    auth,
    contract,
    docs,
    lines,
    orders,
    payment_methods,
    plans,
    pos,
    problems,
    receipts,
    system,
    terminals,
    usage,
    vouchers,
    webhooks,
)
from topup.channels.api.limits import RequestLimits
from topup.channels.payreturn import pages as payreturn_pages
from topup.channels.portal import routes as portal
from topup.channels.pos import routes as pos_pages
from topup.channels.sandbox import pages as sandbox_pages
from topup.channels.sms import inbound as sms_inbound
from topup.channels.ussd import callback as ussd_callback
from topup.db.uow import Database
from topup.payments.interfaces import PaymentProvider
from topup.payments.saved.interfaces import SavesMethods


def create_app(db: Database, providers: dict[str, PaymentProvider] | None = None,
               saved_methods: dict[str, SavesMethods] | None = None) -> FastAPI:
    """Build the app around a Database (and the configured payment providers)."""
    app = FastAPI(
        title=f"{db.settings.operator_name} top-up API", version=__version__,
        description="Prepaid top-up and renewal for travel SIM and eSIM lines. Errors are "
                    "RFC 9457 problem+json with a stable `code`; money is integer minor units.",
        docs_url=None, redoc_url=None,  # served from local files by api/docs.py
    )
    app.state.db = db
    app.state.payment_providers = dict(providers or {})
    app.state.saved_methods = dict(saved_methods or {})
    api = APIRouter(prefix="/api/v1")
    for module in (auth, plans, lines, orders, receipts, usage, admin, admin_bank,
                   admin_catalog, webhooks):
        api.include_router(module.router)
    api.include_router(payment_methods.router)
    api.include_router(payment_methods.pay_router)
    api.include_router(ussd_callback.router)  # the operator's USSD gateway
    api.include_router(sms_inbound.router)  # the operator's SMS gateway
    for agent_module in (admin_agents, pos, terminals):
        api.include_router(agent_module.router)
    api.include_router(vouchers.router)
    api.include_router(admin_vouchers.router)
    app.include_router(api)
    app.include_router(system.router)
    app.include_router(docs.router)
    app.include_router(sandbox_pages.router)
    app.include_router(payreturn_pages.router)
    app.include_router(portal.router)  # the traveller portal: /, its pages, /static
    app.include_router(admin_console.router)  # the operator's console under /admin
    app.include_router(pos_pages.router)  # the agent's point of sale under /pos
    problems.install(app)  # its catch-all sits inside measure, so 500s are counted
    app.middleware("http")(system.measure)
    app.add_middleware(RequestLimits, settings=db.settings)  # outermost: before any byte is read
    contract.install(app)
    return app
