"""The authorization matrix: every route of the app, asked by every role, against the table of
who may use it — and one traveller on another's ids.

Each (method, path template) of ``create_app`` must have a row in TABLE; a route without one
fails ``test_every_route_is_in_the_table``, so a new route cannot ship without someone saying
who may call it. For each row and role the test sends a request with that role's credentials
(a bearer token for the API, a session cookie and its form token for portal, console and POS
pages) and a harmless body, against ids that exist:

- a role outside the row gets 401/403 (pages: the login redirect or the 403 page), and on
  "owner" rows 404 as well, and nothing moves (ledger transfers, orders, the owner's line);
- a role inside the row does not get 401/403 (nor 404 on an owner row).

Terminal routes (HMAC-signed), gateway callbacks (shared secret), webhooks (provider signature)
and capability pages (a secret in the URL) refuse every login and are checked with their own
credentials in the tests at the end. The matrix runs on SQLite and PostgreSQL (about 2,000
requests each, a few seconds).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import routing
from fastapi.testclient import TestClient

from tests.integration.agents.conftest import sign
from tests.integration.authz_world import ROLES, World, build, fill
from topup.channels.api.app import create_app
from topup.channels.selfservice.gateway import HEADER as GATEWAY_HEADER
from topup.db.uow import Database
from topup.orders.service import return_token
from topup.payments.providers.sandbox.provider import HEADER as SANDBOX_HEADER

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
    # the catalogue is public
    ("GET", "/api/v1/plans"): PUBLIC,
    ("GET", "/api/v1/plans/{plan_id}"): PUBLIC,
    ("GET", "/api/v1/zones"): PUBLIC,
    ("GET", "/api/v1/topup-options"): PUBLIC,
    # a traveller's lines and orders: the owner, staff read, admins write
    ("POST", "/api/v1/lines/bind"): roles(SIGNED),
    ("GET", "/api/v1/lines"): roles(SIGNED),
    ("GET", "/api/v1/lines/{line_id}"): owner(STAFF),
    ("PATCH", "/api/v1/lines/{line_id}"): owner(ADMIN, body=lambda w: {"auto_renew": False}),
    ("GET", "/api/v1/lines/{line_id}/transactions"): owner(STAFF),
    ("GET", "/api/v1/lines/{line_id}/orders"): owner(STAFF),
    ("GET", "/api/v1/lines/{line_id}/usage"): owner(STAFF),
    ("POST", "/api/v1/orders"): owner(ADMIN, body=order_body),
    ("POST", "/api/v1/orders/quote"): owner(STAFF, body=order_body),
    ("GET", "/api/v1/orders/{order_id}"): owner(STAFF),
    ("GET", "/api/v1/orders/{order_id}/receipt"): owner(STAFF),
    ("GET", "/api/v1/orders/{order_id}/receipt.html"): owner(STAFF),
    ("GET", "/api/v1/orders/{order_id}/receipt.pdf"): owner(STAFF),
    ("POST", "/api/v1/lines/{line_id}/vouchers/redeem"): owner(body=pin_body),
    ("GET", "/api/v1/vouchers/{serial}"): PUBLIC,
    ("POST", "/api/v1/payment-methods/setup"): roles(SIGNED),
    ("POST", "/api/v1/payment-methods"): roles(SIGNED),
    ("GET", "/api/v1/payment-methods"): roles(SIGNED),
    ("DELETE", "/api/v1/payment-methods/{method_id}"): roles(SIGNED),
    ("POST", "/api/v1/orders/{order_id}/pay-with-saved"): roles(SIGNED),
    # the network reports usage
    ("POST", "/api/v1/usage"): roles("network", "admin"),
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
    # operations and documentation
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/static/api-docs/{name}"): PUBLIC,
    ("GET", "/static/{name}"): PUBLIC,
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
    ("GET", "/admin/bank"): roles(FINANCE),
    ("POST", "/admin/bank/statements"): roles(FINANCE),
    ("GET", "/admin/bank/{item_id:int}"): roles(FINANCE),
    ("POST", "/admin/bank/{item_id:int}/resolve"): roles(FINANCE),
    ("GET", "/admin/orders/{order_id:int}"): roles(STAFF),
    ("GET", "/admin/orders/{order_id:int}/receipt"): roles(STAFF),
    ("POST", "/admin/orders/{order_id:int}/refunds"): roles(FINANCE),
    ("GET", "/admin/refunds"): roles(FINANCE),
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
    # a payment reference nobody was given: the page must not exist for anyone
    "/sandbox/pay/{ref}": {"ref": "no-such-payment"},
    "/sandbox/pay/{ref}/{action}": {"ref": "no-such-payment"},
}

# routes that end the login they are called with: they get a login of their own
ENDS_LOGIN = {"/api/v1/auth/logout", "/logout"}


def app_routes(app: Any) -> dict[tuple[str, str], Any]:
    """Every (method, path template) the app answers (HEAD rides on GET)."""
    found: dict[tuple[str, str], Any] = {}
    for ctx in routing.iter_route_contexts(app.routes):
        assert ctx.path is not None and ctx.methods, (
            f"{ctx.original_route!r} is not a plain route: teach the matrix about it")
        for method in ctx.methods - {"HEAD"}:
            found[(method, ctx.path)] = ctx.original_route
    return found


def is_page(route: Any) -> bool:
    """Portal, console and POS pages (PortalRoute): a session cookie, not a bearer token."""
    return type(route).__name__ == "PortalRoute"


def refused(r: httpx.Response, rule: Rule) -> bool:
    """Whether the answer refuses the caller (a missing login, a role, or not the owner's)."""
    if r.status_code in (401, 403):
        return True
    if rule.kind in ("owner", "capability") and r.status_code == 404:
        return True
    if rule.kind == "webhook" and 400 <= r.status_code < 500:
        return True  # refused before any event is read
    if not r.is_redirect:
        return False
    # the login page (with the way back); a sign-out lands there too, but as its answer to POST
    target = r.headers["location"]
    return target.startswith("/login?next=") or (r.request.method == "GET" and target == "/login")


def send(w: World, route: Any, method: str, path: str, role: str, rule: Rule
         ) -> httpx.Response:
    """One request by ``role``, with a body that cannot move anything by itself."""
    ids = dict(w.ids)
    for name, source in OVERRIDES.get(path, {}).items():
        ids[name] = w.ids.get(source, source)
    url = fill(path, ids)
    w.client.cookies.clear()
    if is_page(route):
        creds = w.browser(role, fresh=path in ENDS_LOGIN)
        token = creds.pop("csrf_token")
        cookie = "; ".join(f"{k}={v}" for k, v in creds.items())
        form = {"csrf_token": token, **(rule.body(w) if rule.body else {})}
        return w.client.request(method, url, headers={"Cookie": cookie},
                                data=form if method == "POST" else None,
                                follow_redirects=False)
    headers = {**w.bearer(role, fresh=path in ENDS_LOGIN), "Idempotency-Key": uuid.uuid4().hex,
               "Content-Type": "application/json"}
    # A JSON string fits no request model: allowed callers get 422 after the role check.
    body = rule.body(w) if rule.body else "not a request of this route"
    content = json.dumps(body).encode() if method != "GET" else None
    return w.client.request(method, url, headers=headers, content=content,
                            follow_redirects=False)


@pytest.fixture
def world(db: Database) -> World:
    return build(db)


def test_every_route_is_in_the_table(db: Database) -> None:
    found = set(app_routes(create_app(db)))
    missing = sorted(found - set(TABLE))
    assert not missing, (
        "routes without a row in the authorization matrix — add each to TABLE in "
        f"tests/integration/test_authorization_matrix.py with the roles allowed: {missing}")
    stale = sorted(set(TABLE) - found)
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_every_role_gets_only_what_its_row_allows(world: World) -> None:
    wrong: list[str] = []
    for (method, path), route in sorted(app_routes(world.client.app).items()):
        rule = TABLE[(method, path)]
        for role in ROLES:
            watch = role not in rule.allowed and method != "GET"
            before = world.fingerprint() if watch else None
            r = send(world, route, method, path, role, rule)
            where = f"{role:9} {method} {path} -> {r.status_code} {r.text[:120]!r}"
            if r.status_code >= 500:
                wrong.append(f"server error: {where}")
            elif role in rule.allowed and refused(r, rule):
                wrong.append(f"refused an allowed role: {where}")
            elif role not in rule.allowed and not refused(r, rule):
                wrong.append(f"let a refused role through: {where}")
            elif watch and world.fingerprint() != before:
                wrong.append(f"something moved for a refused role: {where}")
    assert not wrong, "\n".join(wrong)


def kiosk_headers(w: World, method: str, target: str, body: bytes, secret: str | None = None
                  ) -> dict[str, str]:
    """A terminal's signed headers (tests/integration/agents: written from the spec)."""
    key_id, real = w.kiosk
    ts, nonce = int(w.db.clock().timestamp()), uuid.uuid4().hex
    return {"X-Terminal-Key": key_id, "X-Timestamp": str(ts), "X-Nonce": nonce,
            "X-Signature": sign(secret or real, ts, nonce, method, target, body),
            "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}


def test_terminal_routes_open_only_to_a_valid_signature(world: World) -> None:
    terminal = [k for k, rule in TABLE.items() if rule.kind == "terminal"]
    assert terminal
    for method, path in terminal:
        body = b"{}" if method == "POST" else b""
        unsigned = world.client.request(method, path, content=body or None,
                                        headers=world.bearer("admin"))
        assert unsigned.status_code == 401, (path, unsigned.text)
        forged = world.client.request(method, path, content=body or None, headers=kiosk_headers(
            world, method, path, body, secret="not-the-terminal-secret"))
        assert forged.status_code == 401, (path, forged.text)
        signed = world.client.request(method, path, content=body or None,
                                      headers=kiosk_headers(world, method, path, body))
        assert signed.status_code not in (401, 403) and signed.status_code < 500, (
            path, signed.status_code, signed.text)


@pytest.mark.parametrize("path", ["/api/v1/ussd", "/api/v1/sms/inbound"])
def test_gateway_callbacks_open_only_to_their_shared_secret(db: Database, path: str) -> None:
    gated = Database(db.engine, dataclasses.replace(
        db.settings, ussd_gateway_token="ussd-secret", sms_gateway_token="sms-secret"), db.clock)
    client = TestClient(create_app(gated), raise_server_exceptions=False)
    secret = "ussd-secret" if "ussd" in path else "sms-secret"
    form = {"sessionId": "s1", "phoneNumber": "+85261234599", "from": "+85261234599",
            "text": "BAL"}
    for wrong in ({}, {GATEWAY_HEADER: "guess"}, {GATEWAY_HEADER: "sms-secret" if "ussd"
                                                   in path else "ussd-secret"}):
        for data in (form, {}):  # refused before the form is read, whatever it holds
            r = client.post(path, data=data, headers=wrong)
            assert r.status_code == 401, (wrong, r.text)
    r = client.post(path, data=form, headers={GATEWAY_HEADER: secret})
    assert r.status_code == 200, r.text


def test_an_unsigned_payment_event_moves_nothing(world: World) -> None:
    before = world.fingerprint()
    event = {"id": "evt_forged", "type": "payment.succeeded",
             "data": {"ref": world.pay_ref, "amount": 50_00, "currency": "CNY"}}
    stamp = int(world.db.clock().timestamp())
    for headers in ({}, {SANDBOX_HEADER: f"t={stamp},v1={'0' * 64}"}, world.bearer("admin")):
        r = world.client.post("/api/v1/webhooks/sandbox", json=event, headers=headers)
        assert 400 <= r.status_code < 500, r.text
    assert world.fingerprint() == before


def test_payer_pages_open_only_with_the_secret_in_their_url(world: World) -> None:
    order_id = int(world.ids["order_id"])
    assert world.client.get(f"/sandbox/pay/{world.pay_ref}").status_code == 200
    assert world.client.get(f"/pay/return/{order_id}?t=guess").status_code == 404
    token = return_token(world.db.settings.secret_key, order_id)
    assert world.client.get(f"/pay/return/{order_id}?t={token}",
                            follow_redirects=False).status_code == 200
