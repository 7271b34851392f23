"""The authorization matrix: every route of the app, asked by every role, against the table of
who may use it — and one traveller on another's ids.

Each (method, path template) of ``create_app`` must have a row in TABLE (authz_table.py next
to this file); a route without one fails ``test_every_route_is_in_the_table``, so a new route
cannot ship without someone saying who may call it. For each row and role the test sends a
request with that role's credentials (a bearer token for the API, a session cookie and its form
token for portal, console and POS pages) and a harmless body, against ids that exist:

- a role outside the row gets 401/403 (pages: the login redirect or the 403 page), and on
  "owner" rows 404 as well, and nothing moves (ledger transfers, orders, the owner's line);
- a role inside the row does not get 401/403 (nor 404 on an owner row).

Terminal routes (HMAC-signed), gateway callbacks (shared secret), webhooks (provider signature)
and capability pages (a secret in the URL) refuse every login and are checked with their own
credentials in the tests at the end. The matrix runs on SQLite and PostgreSQL (about 2,000
requests each; well under two minutes for both on a loaded machine).
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from typing import Any

import httpx
import pytest
from fastapi import routing
from fastapi.testclient import TestClient

from tests.integration.agents.conftest import sign
from tests.integration.authz_table import OVERRIDES, TABLE, Rule
from tests.integration.authz_world import ROLES, World, agent, build, fill
from topup.channels.api.app import create_app
from topup.channels.portal import sessions
from topup.channels.selfservice.gateway import HEADER as GATEWAY_HEADER
from topup.db.uow import Database
from topup.orders.service import return_token
from topup.payments.providers.sandbox.provider import HEADER as SANDBOX_HEADER

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
        f"tests/integration/authz_table.py with the roles allowed: {missing}")
    stale = sorted(set(TABLE) - found)
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_every_role_gets_only_what_its_row_allows(world: World) -> None:
    wrong: list[str] = []
    now = None  # the fingerprint taken after the last request, if one was
    for (method, path), route in sorted(app_routes(world.client.app).items()):
        rule = TABLE[(method, path)]
        for role in ROLES:
            watch = role not in rule.allowed and method != "GET"
            before = (now or world.fingerprint()) if watch else None
            r = send(world, route, method, path, role, rule)
            now = None
            where = f"{role:9} {method} {path} -> {r.status_code} {r.text[:120]!r}"
            if r.status_code >= 500:
                wrong.append(f"server error: {where}")
            elif role in rule.allowed and refused(r, rule):
                wrong.append(f"refused an allowed role: {where}")
            elif role not in rule.allowed and not refused(r, rule):
                wrong.append(f"let a refused role through: {where}")
            elif watch and (now := world.fingerprint()) != before:
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


def test_an_agent_sees_only_its_own_sales(world: World) -> None:
    _, stranger = agent(world, world.bearer("admin"), "Across the Street")
    world.users["stranger"] = stranger
    sale = world.ids["sale_id"]
    for role, status in (("stranger", 404), ("agent", 200)):
        cookie = world.browser(role)[sessions.COOKIE]
        page = world.client.get(f"/pos/sales/{sale}",
                                headers={"Cookie": f"{sessions.COOKIE}={cookie}"})
        assert page.status_code == status, page.text[:300]
    listing = world.client.get("/api/v1/pos/sales", headers=world.bearer("stranger"))
    assert listing.status_code == 200 and listing.json() == []
    mine = world.client.get("/api/v1/pos/sales", headers=world.bearer("agent"))
    assert [s["id"] for s in mine.json()] == [int(sale)]
