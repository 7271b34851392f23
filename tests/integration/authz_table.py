"""The authorization matrix's table: who may call each route of the app
(tests/integration/test_authorization_matrix.py asks every role against it).

A new route needs a row here, with the roles allowed; the matrix fails until it has one.
Staff rows follow subscribers/staff.py's PERMISSIONS; they are spelled out on purpose, so a
change to that table shows up here as a failing test, not as a silent new permission.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.integration.authz_world import ROLES, World

ANY = frozenset(ROLES)
SIGNED = ANY - {"anonymous"}
STAFF = frozenset({"admin", "support", "finance"})
ADMIN = frozenset({"admin"})
SUPPORT = frozenset({"admin", "support"})
FINANCE = frozenset({"admin", "finance"})
AGENT = frozenset({"agent"})
NOBODY: frozenset[str] = frozenset()

Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Rule:
    """Who may call a route. ``kind``: "role" (the roles in ``allowed``), "owner" (a customer's
    resource: ``allowed`` names the owner and the staff who may see it; others may get 404),
    "terminal", "gateway", "webhook", "capability" (no login opens them: see the tests below).
    ``body``: a valid body, where the check sits behind the body's validation."""

    allowed: frozenset[str]
    kind: str = "role"
    body: Body | None = None


def roles(*allowed: frozenset[str] | str) -> Rule:
    found: set[str] = set()
    for a in allowed:
        found |= {a} if isinstance(a, str) else set(a)
    return Rule(frozenset(found))


def owner(*others: frozenset[str], body: Body | None = None) -> Rule:
    """The owner's resource, which ``others`` (staff) may use as well."""
    return Rule(frozenset({"owner"}).union(*others), "owner", body)


PUBLIC = Rule(ANY)
TERMINAL = Rule(NOBODY, "terminal")
GATEWAY = Rule(NOBODY, "gateway")
WEBHOOK = Rule(NOBODY, "webhook")
CAPABILITY = Rule(NOBODY, "capability")


def order_body(w: World) -> dict[str, Any]:
    return {"line_id": int(w.ids["line_id"]), "kind": "topup", "method": "sandbox",
            "amount": 20_00, "currency": "CNY", "confirm_duplicate": True}


def auto_topup_body(w: World) -> dict[str, Any]:
    return {"threshold": 0, "amount": 20_00, "payment_method_id": int(w.ids["card_id"])}


def member_body(w: World) -> dict[str, Any]:
    return {"line_id": int(w.ids["line_id"])}


def pin_body(w: World) -> dict[str, Any]:
    return {"pin": w.pin}


TABLE: dict[tuple[str, str], Rule] = {
    ("GET", "/openapi.json"): PUBLIC,
    # the API: accounts
    ("POST", "/api/v1/auth/register"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): roles(SIGNED),
    ("POST", "/api/v1/auth/password-reset"): PUBLIC,
    ("POST", "/api/v1/auth/password-reset/confirm"): PUBLIC,
    ("GET", "/api/v1/auth/me"): roles(SIGNED),
    ("PATCH", "/api/v1/auth/me"): roles(SIGNED),
    ("GET", "/api/v1/auth/me/points"): roles(SIGNED),
    # the catalogue is public
    ("GET", "/api/v1/plans"): PUBLIC,
    ("GET", "/api/v1/plans/{plan_id}"): PUBLIC,
    ("GET", "/api/v1/trips/plan"): PUBLIC,  # the trip planner reads the catalogue only
    ("GET", "/api/v1/zones"): PUBLIC,
    ("GET", "/api/v1/topup-options"): PUBLIC,
    ("GET", "/api/v1/rates"): PUBLIC,
    ("GET", "/api/v1/rates/countries"): PUBLIC,
    # a traveller's lines and orders: the owner, staff read, admins write
    ("POST", "/api/v1/lines/bind"): roles(SIGNED),
    ("GET", "/api/v1/lines"): roles(SIGNED),
    ("GET", "/api/v1/lines/{line_id}"): owner(STAFF),
    ("PATCH", "/api/v1/lines/{line_id}"): owner(ADMIN, body=lambda w: {"auto_renew": False}),
    ("GET", "/api/v1/lines/{line_id}/transactions"): owner(STAFF),
    ("GET", "/api/v1/lines/{line_id}/orders"): owner(STAFF),
    ("GET", "/api/v1/lines/{line_id}/usage"): owner(STAFF),
    ("GET", "/api/v1/lines/{line_id}/forecast"): owner(STAFF),
    # a line's auto top-up: its customer only, staff included out (channels/api/auto_topup.py)
    ("GET", "/api/v1/lines/{line_id}/auto-topup"): owner(),
    ("PUT", "/api/v1/lines/{line_id}/auto-topup"): owner(body=auto_topup_body),
    ("DELETE", "/api/v1/lines/{line_id}/auto-topup"): owner(),
    ("POST", "/api/v1/orders"): owner(ADMIN, body=order_body),
    ("POST", "/api/v1/orders/quote"): owner(STAFF, body=order_body),
    ("GET", "/api/v1/orders/{order_id}"): owner(STAFF),
    ("GET", "/api/v1/orders/{order_id}/receipt"): owner(STAFF),
    ("GET", "/api/v1/orders/{order_id}/receipt.html"): owner(STAFF),
    ("GET", "/api/v1/orders/{order_id}/receipt.pdf"): owner(STAFF),
    ("POST", "/api/v1/lines/{line_id}/vouchers/redeem"): owner(body=pin_body),
    ("GET", "/api/v1/vouchers/{serial}"): PUBLIC,
    # a traveller's groups of lines: travellers make them, only the owner sees or changes one
    ("POST", "/api/v1/groups"): roles("owner", "customer"),
    ("GET", "/api/v1/groups"): roles("owner", "customer"),
    ("GET", "/api/v1/groups/{group_id}"): owner(),
    ("POST", "/api/v1/groups/{group_id}/members"): owner(body=member_body),
    ("PATCH", "/api/v1/groups/{group_id}/members/{line_id}"): owner(
        body=lambda w: {"cap_bytes": None}),
    ("DELETE", "/api/v1/groups/{group_id}/members/{line_id}"): owner(),
    # a traveller's support requests: travellers only, each their own (staff use the console)
    ("GET", "/api/v1/tickets"): roles("owner", "customer"),
    ("POST", "/api/v1/tickets"): roles("owner", "customer"),
    ("GET", "/api/v1/tickets/{ticket_id}"): owner(),
    ("POST", "/api/v1/tickets/{ticket_id}/messages"): owner(body=lambda w: {"body": "Hello"}),
    ("POST", "/api/v1/payment-methods/setup"): roles(SIGNED),
    ("POST", "/api/v1/payment-methods"): roles(SIGNED),
    ("GET", "/api/v1/payment-methods"): roles(SIGNED),
    # a saved card is its owner's (another user's id is a 404: payments/test_saved_methods.py)
    ("DELETE", "/api/v1/payment-methods/{method_id}"): roles(SIGNED),
    ("POST", "/api/v1/orders/{order_id}/pay-with-saved"): roles(SIGNED),
    # the eSIM store: offers are public, a guest buys with an e-mail address; a purchase is
    # its buyer's (another buyer's is a 404: esim/test_store.py)
    ("GET", "/api/v1/store/offers"): PUBLIC,
    ("POST", "/api/v1/store/orders"): PUBLIC,
    ("GET", "/api/v1/store/orders/{order_id}"): roles(SIGNED),
    # the network reports usage
    ("POST", "/api/v1/usage"): roles("network", "admin"),
    # and charges online, before use
    ("POST", "/api/v1/charging/sessions"): roles("network", "admin"),
    ("POST", "/api/v1/charging/sessions/{ref}/update"): roles("network", "admin"),
    ("POST", "/api/v1/charging/sessions/{ref}/release"): roles("network", "admin"),
    ("POST", "/api/v1/charging/events"): roles("network", "admin"),
    # staff over the API (subscribers/staff.py PERMISSIONS)
    ("POST", "/api/v1/admin/lines"): roles(ADMIN),
    ("GET", "/api/v1/admin/lines"): roles(STAFF),
    ("POST", "/api/v1/admin/lines/{line_id}/freeze"): roles(SUPPORT),
    ("POST", "/api/v1/admin/lines/{line_id}/unfreeze"): roles(SUPPORT),
    ("POST", "/api/v1/admin/lines/{line_id}/credit"): roles(FINANCE),
    ("POST", "/api/v1/admin/staff"): roles(ADMIN),
    ("GET", "/api/v1/admin/audit"): roles(ADMIN),
    ("POST", "/api/v1/admin/orders/{order_id}/refunds"): roles(FINANCE),
    ("GET", "/api/v1/admin/orders/{order_id}/refunds"): roles(STAFF),
    ("POST", "/api/v1/admin/orders/{order_id}/refunds/paid-out"): roles(FINANCE),
    ("POST", "/api/v1/admin/bank/statements"): roles(FINANCE),
    ("GET", "/api/v1/admin/bank/review"): roles(FINANCE),
    ("POST", "/api/v1/admin/bank/review/{item_id}/resolve"): roles(FINANCE),
    ("PUT", "/api/v1/admin/plans"): roles(ADMIN),
    ("PUT", "/api/v1/admin/topup-limits"): roles(ADMIN),
    ("PUT", "/api/v1/admin/presets/{currency}"): roles(ADMIN),
    ("PUT", "/api/v1/admin/oob-rates"): roles(ADMIN),
    ("PUT", "/api/v1/admin/fees"): roles(ADMIN),
    ("GET", "/api/v1/admin/fees"): roles(STAFF),
    ("PUT", "/api/v1/admin/fx-rates"): roles(ADMIN),
    ("PUT", "/api/v1/admin/agent-tiers/{code}"): roles(ADMIN),
    ("GET", "/api/v1/admin/agent-tiers"): roles(STAFF),
    ("GET", "/api/v1/admin/campaigns"): roles(STAFF),
    ("POST", "/api/v1/admin/campaigns"): roles(ADMIN),
    ("GET", "/api/v1/admin/campaigns/{campaign_id}"): roles(STAFF),
    ("POST", "/api/v1/admin/campaigns/{campaign_id}/state"): roles(ADMIN),
    ("POST", "/api/v1/admin/campaigns/{campaign_id}/codes"): roles(ADMIN),
    ("POST", "/api/v1/admin/agents"): roles(ADMIN),
    ("GET", "/api/v1/admin/agents"): roles(STAFF),
    ("GET", "/api/v1/admin/agents/{agent_id}"): roles(STAFF),
    ("POST", "/api/v1/admin/agents/{agent_id}/suspend"): roles(ADMIN),
    ("POST", "/api/v1/admin/agents/{agent_id}/activate"): roles(ADMIN),
    ("POST", "/api/v1/admin/agents/{agent_id}/staff"): roles(ADMIN),
    ("DELETE", "/api/v1/admin/agents/{agent_id}/staff/{user_id}"): roles(ADMIN),
    ("POST", "/api/v1/admin/agents/{agent_id}/float"): roles(FINANCE),
    ("GET", "/api/v1/admin/agents/{agent_id}/statement"): roles(STAFF),
    ("GET", "/api/v1/admin/agents/{agent_id}/kyc"): roles(ADMIN),  # identity documents
    ("POST", "/api/v1/admin/agents/{agent_id}/terminals"): roles(ADMIN),
    ("GET", "/api/v1/admin/agents/{agent_id}/terminals"): roles(STAFF),
    ("POST", "/api/v1/admin/terminals/{terminal_id}/disable"): roles(ADMIN),
    ("POST", "/api/v1/admin/terminals/{terminal_id}/enable"): roles(ADMIN),
    ("POST", "/api/v1/admin/terminals/{terminal_id}/rotate"): roles(ADMIN),
    ("GET", "/api/v1/admin/terminals/{terminal_id}/reconciliation"): roles(STAFF),
    ("POST", "/api/v1/admin/voucher-batches"): roles(FINANCE),
    ("GET", "/api/v1/admin/voucher-batches"): roles(STAFF),
    ("GET", "/api/v1/admin/voucher-batches/{batch_id}"): roles(STAFF),
    ("POST", "/api/v1/admin/voucher-batches/{batch_id}/activate"): roles(FINANCE),
    ("POST", "/api/v1/admin/voucher-batches/{batch_id}/block"): roles(FINANCE),
    ("POST", "/api/v1/admin/voucher-batches/{batch_id}/unblock"): roles(FINANCE),
    ("POST", "/api/v1/admin/vouchers/block"): roles(FINANCE),
    ("POST", "/api/v1/admin/vouchers/unblock"): roles(FINANCE),
    ("GET", "/api/v1/admin/vouchers/{serial}"): roles(STAFF),
    # an agent's point of sale over the API
    ("GET", "/api/v1/pos/me"): roles(AGENT),
    ("GET", "/api/v1/pos/lines/{identifier}"): roles(AGENT),
    ("POST", "/api/v1/pos/topups"): roles(AGENT),
    ("POST", "/api/v1/pos/vouchers"): roles(AGENT),
    ("GET", "/api/v1/pos/statement"): roles(AGENT),
    ("GET", "/api/v1/pos/sales"): roles(AGENT),
    # kiosks sign each request; gateways send a shared secret; providers sign webhooks
    ("GET", "/api/v1/terminal/me"): TERMINAL,
    ("POST", "/api/v1/terminal/topups"): TERMINAL,
    ("POST", "/api/v1/terminal/vouchers"): TERMINAL,
    ("GET", "/api/v1/terminal/reconciliation"): TERMINAL,
    ("POST", "/api/v1/ussd"): GATEWAY,
    ("POST", "/api/v1/sms/inbound"): GATEWAY,
    ("POST", "/api/v1/webhooks/{provider}"): WEBHOOK,
    ("POST", "/api/v1/esim/smdp/gsma/rsp2/es2plus/handleDownloadProgressInfo"): WEBHOOK,
    # operations and documentation
    ("GET", "/healthz"): PUBLIC,
    # No login opens /metrics: the scrape token or a loopback caller does
    # (tests/integration/test_sessions_and_tokens.py); the matrix calls from a remote address.
    ("GET", "/metrics"): Rule(NOBODY),
    ("GET", "/docs"): PUBLIC,
    ("GET", "/static/api-docs/{name}"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
    # the installable app: its manifest, icons, worker and offline page
    ("GET", "/manifest.webmanifest"): PUBLIC,
    ("GET", "/icons/{name}"): PUBLIC,
    ("GET", "/sw.js"): PUBLIC,
    ("GET", "/offline"): PUBLIC,
    # payer pages opened by a secret in the URL
    ("GET", "/sandbox/pay/{ref}"): CAPABILITY,
    ("POST", "/sandbox/pay/{ref}/{action}"): CAPABILITY,
    ("GET", "/pay/return/{order_id}"): CAPABILITY,
    # the portal
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): PUBLIC,
    ("GET", "/register"): PUBLIC,
    ("POST", "/register"): PUBLIC,
    ("GET", "/password/forgot"): PUBLIC,
    ("POST", "/password/forgot"): PUBLIC,
    ("GET", "/password/reset"): PUBLIC,
    ("POST", "/password/reset"): PUBLIC,
    ("GET", "/"): roles(SIGNED),  # visitors land on the login page
    ("GET", "/plans"): PUBLIC,
    # the eSIM store: a guest buys with an e-mail address (which becomes an account)
    ("GET", "/store"): PUBLIC,
    ("GET", "/check"): PUBLIC,
    # the help centre: anyone reads it; admin and support edit it (help.write)
    ("GET", "/help"): PUBLIC,
    ("GET", "/help/{slug}"): PUBLIC,
    ("GET", "/rates"): PUBLIC,
    ("GET", "/plans/compare"): PUBLIC,
    ("GET", "/trip"): PUBLIC,
    # buying a trip's plans from the line's wallet: the owner of the line only
    ("POST", "/trip/buy"): owner(body=lambda w: {"line": w.ids["line_id"]}),
    ("GET", "/store/plans/{plan_id}"): PUBLIC,
    ("POST", "/store/plans/{plan_id}"): PUBLIC,
    ("POST", "/language"): PUBLIC,
    ("GET", "/lines/bind"): roles(SIGNED),
    ("POST", "/lines/bind"): roles(SIGNED),
    ("GET", "/topup"): roles(SIGNED),
    ("GET", "/voucher"): roles(SIGNED),
    ("GET", "/history"): roles(SIGNED),
    ("GET", "/settings"): roles(SIGNED),
    ("POST", "/settings/language"): roles(SIGNED),
    ("POST", "/settings/notifications"): roles(SIGNED),
    ("GET", "/lines/{line_id}"): owner(),
    ("POST", "/lines/{line_id}/auto-renew"): owner(body=lambda w: {"auto_renew": "on"}),
    ("POST", "/lines/{line_id}/auto-topup"): owner(body=lambda w: {
        "threshold": "0", "amount": "20", "method": w.ids["card_id"], "max_per_day": "1"}),
    ("POST", "/lines/{line_id}/auto-topup/off"): owner(),
    ("GET", "/lines/{line_id}/esim.svg"): owner(),
    ("GET", "/lines/{line_id}/plans/{plan_id}"): owner(),
    ("POST", "/lines/{line_id}/plans/{plan_id}"): owner(),
    ("GET", "/lines/{line_id}/topup"): owner(),
    ("POST", "/lines/{line_id}/topup"): owner(),
    ("GET", "/lines/{line_id}/checkout"): owner(),
    ("POST", "/lines/{line_id}/checkout"): owner(),
    ("GET", "/lines/{line_id}/voucher"): owner(),
    ("POST", "/lines/{line_id}/voucher"): owner(body=pin_body),
    ("GET", "/lines/{line_id}/history"): owner(),
    ("GET", "/groups"): roles("owner", "customer"),
    ("POST", "/groups"): roles("owner", "customer"),
    ("GET", "/groups/{group_id}"): owner(),
    ("POST", "/groups/{group_id}/members"): owner(body=member_body),
    ("POST", "/groups/{group_id}/members/{line_id}/cap"): owner(body=lambda w: {"cap_mb": ""}),
    ("POST", "/groups/{group_id}/members/{line_id}/remove"): owner(),
    ("GET", "/groups/{group_id}/buy"): owner(),
    ("GET", "/tickets"): roles(SIGNED),
    ("GET", "/tickets/new"): roles(SIGNED),
    ("POST", "/tickets/new"): roles(SIGNED),
    ("GET", "/tickets/{ticket_id}"): owner(),
    ("POST", "/tickets/{ticket_id}/messages"): owner(),
    ("GET", "/orders/{order_id}"): owner(),
    ("GET", "/orders/{order_id}/status"): owner(),
    ("GET", "/orders/{order_id}/receipt"): owner(),
    ("GET", "/orders/{order_id}/receipt.pdf"): owner(),
    # the operator's console (subscribers/staff.py PERMISSIONS)
    ("GET", "/admin"): roles(STAFF),
    ("GET", "/admin/lines"): roles(STAFF),
    ("GET", "/admin/lines/{line_id}"): roles(STAFF),
    ("POST", "/admin/lines/{line_id}/freeze"): roles(SUPPORT),
    ("POST", "/admin/lines/{line_id}/unfreeze"): roles(SUPPORT),
    ("POST", "/admin/lines/{line_id}/credit"): roles(FINANCE),
    ("POST", "/admin/lines/{line_id}/messages/{message_id}/resend"): roles(SUPPORT),
    ("GET", "/admin/plans"): roles(STAFF),
    ("GET", "/admin/plans/new"): roles(ADMIN),
    ("GET", "/admin/plans/{plan_id}"): roles(STAFF),
    ("POST", "/admin/plans"): roles(ADMIN),
    ("GET", "/admin/staff"): roles(ADMIN),
    ("POST", "/admin/staff"): roles(ADMIN),
    ("POST", "/admin/staff/{user_id}/{change}"): roles(ADMIN),
    ("GET", "/admin/audit"): roles(ADMIN),
    ("GET", "/admin/vouchers"): roles(STAFF),
    ("GET", "/admin/vouchers/new"): roles(FINANCE),
    ("POST", "/admin/vouchers/new"): roles(FINANCE),
    ("GET", "/admin/vouchers/{batch_id:int}"): roles(STAFF),
    ("POST", "/admin/vouchers/{batch_id:int}/generate"): roles(FINANCE),
    ("POST", "/admin/vouchers/{batch_id:int}/activate"): roles(FINANCE),
    ("POST", "/admin/vouchers/{batch_id:int}/block"): roles(FINANCE),
    ("POST", "/admin/vouchers/{batch_id:int}/unblock"): roles(FINANCE),
    ("GET", "/admin/vouchers/cards"): roles(STAFF),
    ("POST", "/admin/vouchers/cards/block"): roles(FINANCE),
    ("POST", "/admin/vouchers/cards/unblock"): roles(FINANCE),
    ("GET", "/admin/agents"): roles(STAFF),
    ("GET", "/admin/agents/new"): roles(ADMIN),
    ("POST", "/admin/agents/new"): roles(ADMIN),
    ("GET", "/admin/agents/{agent_id:int}"): roles(STAFF),
    ("POST", "/admin/agents/{agent_id:int}/suspend"): roles(ADMIN),
    ("POST", "/admin/agents/{agent_id:int}/activate"): roles(ADMIN),
    ("POST", "/admin/agents/{agent_id:int}/staff"): roles(ADMIN),
    ("POST", "/admin/agents/{agent_id:int}/staff/{user_id:int}/remove"): roles(ADMIN),
    ("POST", "/admin/agents/{agent_id:int}/float"): roles(FINANCE),
    ("GET", "/admin/agents/{agent_id:int}/statement"): roles(STAFF),
    ("POST", "/admin/agents/{agent_id:int}/terminals"): roles(ADMIN),
    ("POST", "/admin/terminals/{terminal_id:int}/disable"): roles(ADMIN),
    ("POST", "/admin/terminals/{terminal_id:int}/enable"): roles(ADMIN),
    ("POST", "/admin/terminals/{terminal_id:int}/rotate"): roles(ADMIN),
    ("GET", "/admin/terminals/{terminal_id:int}/reconciliation"): roles(STAFF),
    ("GET", "/admin/agents/tiers"): roles(STAFF),
    ("POST", "/admin/agents/tiers"): roles(ADMIN),
    # promotions: every staff role reads, admins create and change (promotions.read / .write)
    ("GET", "/admin/campaigns"): roles(STAFF),
    ("GET", "/admin/campaigns/new"): roles(ADMIN),
    ("POST", "/admin/campaigns/new"): roles(ADMIN),
    ("GET", "/admin/campaigns/{campaign_id:int}"): roles(STAFF),
    ("POST", "/admin/campaigns/{campaign_id:int}/pause"): roles(ADMIN),
    ("POST", "/admin/campaigns/{campaign_id:int}/resume"): roles(ADMIN),
    ("POST", "/admin/campaigns/{campaign_id:int}/end"): roles(ADMIN),
    ("POST", "/admin/campaigns/{campaign_id:int}/codes"): roles(ADMIN),
    ("POST", "/admin/campaigns/{campaign_id:int}/codes/batch"): roles(ADMIN),
    ("POST", "/admin/campaigns/{campaign_id:int}/codes/export"): roles(ADMIN),
    ("GET", "/admin/bank"): roles(FINANCE),
    ("POST", "/admin/bank/statements"): roles(FINANCE),
    ("GET", "/admin/bank/{item_id:int}"): roles(FINANCE),
    ("POST", "/admin/bank/{item_id:int}/resolve"): roles(FINANCE),
    ("GET", "/admin/orders/{order_id:int}"): roles(STAFF),
    ("GET", "/admin/orders/{order_id:int}/receipt"): roles(STAFF),
    ("POST", "/admin/orders/{order_id:int}/refunds"): roles(FINANCE),
    ("GET", "/admin/refunds"): roles(FINANCE),
    ("GET", "/admin/esim"): roles(STAFF),
    ("GET", "/admin/help"): roles(SUPPORT),
    ("GET", "/admin/help/{slug}/{lang}"): roles(SUPPORT),
    ("POST", "/admin/help/{slug}/{lang}"): Rule(SUPPORT, body=lambda w: {"action": "preview"}),
    ("POST", "/admin/help/{slug}/{lang}/{change}"): roles(SUPPORT),
    # support tickets: support and admins (tickets.read / .write); finance never sees them
    ("GET", "/admin/tickets"): roles(SUPPORT),
    ("GET", "/admin/tickets/report"): roles(SUPPORT),
    ("GET", "/admin/tickets/{ticket_id:int}"): roles(SUPPORT),
    ("POST", "/admin/tickets/{ticket_id:int}/reply"): roles(SUPPORT),
    ("POST", "/admin/tickets/{ticket_id:int}/note"): roles(SUPPORT),
    ("POST", "/admin/tickets/{ticket_id:int}/assign"): roles(SUPPORT),
    ("POST", "/admin/tickets/{ticket_id:int}/close"): roles(SUPPORT),
    ("POST", "/admin/tickets/{ticket_id:int}/reopen"): roles(SUPPORT),
    # the agent's point of sale
    ("GET", "/pos"): roles(AGENT),
    ("GET", "/pos/topup"): roles(AGENT),
    ("POST", "/pos/topup"): roles(AGENT),
    ("GET", "/pos/topup/confirm"): roles(AGENT),
    ("POST", "/pos/topup/confirm"): roles(AGENT),
    ("GET", "/pos/voucher"): roles(AGENT),
    ("POST", "/pos/voucher"): roles(AGENT),
    ("GET", "/pos/sales/{sale_id}"): roles(AGENT),
    ("GET", "/pos/statement"): roles(AGENT),
}

# ids that differ from the world's defaults for one route
OVERRIDES: dict[str, dict[str, str]] = {
    "/static/api-docs/{name}": {"name": "swagger-ui.css"},
    "/admin/staff/{user_id}/{change}": {"user_id": "staff_id"},
    # an article the package ships; publishing a published article changes nothing
    "/help/{slug}": {"slug": "money-late"},
    "/admin/help/{slug}/{lang}": {"slug": "money-late", "lang": "en"},
    "/admin/help/{slug}/{lang}/{change}": {"slug": "money-late", "lang": "en",
                                           "change": "publish"},
    # a payment reference nobody was given: the page must not exist for anyone
    "/sandbox/pay/{ref}": {"ref": "no-such-payment"},
    "/sandbox/pay/{ref}/{action}": {"ref": "no-such-payment"},
}
