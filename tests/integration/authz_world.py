"""The world the authorization matrix runs in: one login per role, a traveller's line with
orders, an agent with a sale and a kiosk, a second agent to act on, a voucher batch, a promo
code campaign — so that every id in a route exists and a 404 cannot hide a missing check."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from tests.client_support import Client
from tests.factories import make_line, make_user
from tests.integration.vouchers.conftest import make_batch
from topup.channels.api.app import create_app
from topup.channels.portal import sessions
from topup.db.uow import Database
from topup.demo.catalog import seed_catalog
from topup.ledger import service as ledger
from topup.notifications.tables import outbox
from topup.orders.autotopup import Rule, save_auto_topup
from topup.orders.tables import orders
from topup.payments.providers.sandbox import SandboxProvider
from topup.payments.saved.tables import saved_payment_methods
from topup.promotions import store as promotions
from topup.promotions.tables import campaigns, promo_codes
from topup.subscribers import auth, groups
from topup.subscribers import lines as line_svc
from topup.subscribers.auth import User
from topup.subscribers.tables import lines
from topup.support import service as support

PASSWORD = "correct-horse-battery"
# "owner" is the traveller whose line and orders the ids name; "customer" is another traveller.
ROLES = ("anonymous", "owner", "customer", "agent", "terminal", "network", "admin", "support",
         "finance")
USER_ROLE = {"owner": "customer"}


@dataclass
class World:
    """Logins by role, the ids routes name, and a client on the app."""

    db: Database
    client: Client
    users: dict[str, User] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    kiosk: tuple[str, str] = ("", "")  # key id, secret
    pin: str = ""
    pay_ref: str = ""
    _tokens: dict[str, str] = field(default_factory=dict)
    _sessions: dict[str, str] = field(default_factory=dict)

    def bearer(self, role: str, fresh: bool = False) -> dict[str, str]:
        """An API token of ``role`` (none for anonymous); ``fresh`` for a request that may
        end it (a sign-out)."""
        if role == "anonymous":
            return {}
        if fresh or role not in self._tokens:
            with self.db.unit() as uow:
                token = auth.issue_token(uow, self.users[role])
            if fresh:
                return {"Authorization": f"Bearer {token}"}
            self._tokens[role] = token
        return {"Authorization": f"Bearer {self._tokens[role]}"}

    def browser(self, role: str, fresh: bool = False) -> dict[str, str]:
        """Cookies of a portal session of ``role`` and the form token that goes with it
        (anonymous: the anonymous form cookie), computed as csrf.py documents it."""
        if role == "anonymous":
            anon = uuid.uuid4().hex
            return {"topup_csrf": anon, "csrf_token": self._csrf(f"anon:{anon}")}
        if fresh or role not in self._sessions:
            with self.db.unit() as uow:
                started = sessions.start(uow, self.users[role])
            if not fresh:
                self._sessions[role] = started
        token = started if fresh else self._sessions[role]
        return {sessions.COOKIE: token,
                "csrf_token": self._csrf(f"session:{sessions.token_hash(token)}")}

    def _csrf(self, basis: str) -> str:
        key = self.db.settings.secret_key.encode()
        return hmac.new(key, f"csrf:{basis}".encode(), hashlib.sha256).hexdigest()

    def fingerprint(self) -> tuple[Any, ...]:
        """What must not move when a caller is refused: transfers, orders, the owner's line,
        campaigns and their codes."""
        with self.db.unit(readonly=True) as uow:
            line = uow.conn.execute(select(lines.c.status, lines.c.auto_renew, lines.c.customer_id)
                                    .where(lines.c.id == int(self.ids["line_id"]))).one()
            count = uow.conn.execute(select(func.count()).select_from(orders)).scalar_one()
            promos = [uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
                      for t in (campaigns, promo_codes)]
            state = uow.conn.execute(select(campaigns.c.state).where(
                campaigns.c.id == int(self.ids["campaign_id"]))).scalar_one()
            return ledger.count_transfers(uow), count, tuple(line), *promos, state


def _ok(r: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, r.text[:500]
    body: dict[str, Any] = r.json()
    return body


def _login(db: Database, role: str) -> User:
    return make_user(db, USER_ROLE.get(role, role))


def agent(w: World, staff: dict[str, str], name: str) -> tuple[int, User]:
    """A new agent with one POS login."""
    a = _ok(w.client.post("/api/v1/admin/agents", headers=staff, json={
        "kind": "store", "name": name, "tier": "std", "country": "HK", "currency": "CNY",
        "parent_id": None}), 201)
    email = f"pos-{uuid.uuid4().hex[:8]}@example.com"
    u = _ok(w.client.post(f"/api/v1/admin/agents/{a['id']}/staff", headers=staff,
                          json={"email": email, "password": PASSWORD}), 201)
    with w.db.unit(readonly=True) as uow:
        return int(a["id"]), auth.get_user(uow, int(u["id"]))


def _terminal(w: World, staff: dict[str, str], agent_id: int) -> dict[str, Any]:
    return _ok(w.client.post(f"/api/v1/admin/agents/{agent_id}/terminals", headers=staff,
                             json={"label": "Hall B"}), 201)


def _sandbox_order(w: World, me: dict[str, str], line_id: int) -> dict[str, Any]:
    return _ok(w.client.post("/api/v1/orders", headers={**me, "Idempotency-Key": uuid.uuid4().hex},
                             json={"line_id": line_id, "kind": "topup", "method": "sandbox",
                                   "amount": 50_00, "currency": "CNY",
                                   "confirm_duplicate": True}), 201)


def _traveller(w: World) -> None:
    """The owner's line with a paid order (its receipt and confirmation) and a waiting one."""
    made = make_line(w.db, secret="2718", msisdn="+85261234567", country="HK", kind="esim",
                     smdp_address="smdp.example.com", matching_id="MATRIX-0001")
    other = make_line(w.db, secret="2718", msisdn="+85261234568", country="HK")
    with w.db.unit() as uow:
        assert line_svc.bind(uow, w.users["owner"].id, made.iccid, "2718")
        assert line_svc.bind(uow, w.users["customer"].id, other.iccid, "2718")
    me = w.bearer("owner")
    paid = _sandbox_order(w, me, made.id)
    ref = str(paid["next_action"]["value"]).rsplit("/", 1)[1]
    assert w.client.post(f"/sandbox/pay/{ref}/approve").status_code == 200
    waiting = _sandbox_order(w, me, made.id)
    w.pay_ref = str(waiting["next_action"]["value"]).rsplit("/", 1)[1]
    plans = _ok(w.client.get("/api/v1/plans"))
    items = plans["items"] if isinstance(plans, dict) and "items" in plans else plans
    with w.db.unit(readonly=True) as uow:
        message = uow.conn.execute(select(func.min(outbox.c.id))).scalar_one()
    card = _auto_topup(w, made.id)
    w.ids.update(line_id=str(made.id), order_id=str(paid["id"]), card_id=str(card),
                 plan_id=str(items[0]["id"]), identifier=made.iccid, ref=w.pay_ref,
                 message_id=str(message or 1))


def _auto_topup(w: World, line_id: int) -> int:
    """A card the owner saved (as a provider would have kept it) and the line's auto top-up
    charging it; returns the card's id."""
    with w.db.unit() as uow:
        card = int(uow.conn.execute(insert(saved_payment_methods).values(
            user_id=w.users["owner"].id, provider="stripe", customer_ref="cus_matrix",
            method_ref="pm_matrix", brand="visa", last4="4242", created_at=uow.now,
        ).returning(saved_payment_methods.c.id)).scalar_one())
        save_auto_topup(uow, line_svc.get_line(uow, line_id), Rule(10_00, 50_00, card))
    return card


def _retail(w: World, staff: dict[str, str]) -> None:
    """The agent the ``agent`` role sells for (a sale, a kiosk), and a second agent whose
    logins and terminals the admin routes act on."""
    _ok(w.client.put("/api/v1/admin/agent-tiers/std", headers=staff, json={
        "name": "Standard", "topup_bp": 150, "voucher_bp": 300}))
    mine, w.users["agent"] = agent(w, staff, "Corner Store")
    _ok(w.client.post(f"/api/v1/admin/agents/{mine}/float", headers={
        **staff, "Idempotency-Key": uuid.uuid4().hex}, json={
        "amount": 1000_00, "reference": uuid.uuid4().hex, "reason": "paid by bank"}), 201)
    sale = _ok(w.client.post("/api/v1/pos/topups", headers={
        **w.bearer("agent"), "Idempotency-Key": uuid.uuid4().hex},
        json={"line": w.ids["identifier"], "amount": 10_00}), 201)
    kiosk = _terminal(w, staff, mine)
    w.kiosk = (kiosk["key_id"], kiosk["secret"])
    victim, victim_login = agent(w, staff, "Other Store")
    w.ids.update(sale_id=str(sale["id"]), agent_id=str(victim), user_id=str(victim_login.id),
                 terminal_id=str(_terminal(w, staff, victim)["id"]))


def build(db: Database) -> World:
    """Seed everything the matrix names."""
    with db.unit() as uow:
        seed_catalog(uow)
    sandbox = SandboxProvider(db, db.settings.secret_key, "http://testserver")
    w = World(db, Client(create_app(db, {"sandbox": sandbox}),
                         raise_server_exceptions=False))
    for role in ROLES[1:]:
        if role != "agent":
            w.users[role] = _login(db, role)
    staff = w.bearer("admin")
    _traveller(w)
    _retail(w, staff)
    with db.unit() as uow:  # the owner's line in a group of the owner's
        group = groups.create_group(uow, w.users["owner"].id, "Matrix")
        groups.add_member(uow, group, int(w.ids["line_id"]))
    w.ids["group_id"] = str(group.id)
    with db.unit() as uow:  # a support request of the owner's, about the line
        ticket = support.open_ticket(uow, w.users["owner"], "Matrix", "Hello",
                                     line_id=int(w.ids["line_id"]))
    w.ids["ticket_id"] = str(ticket.id)
    batch = make_batch(db, count=2)
    w.pin = batch.cards[0].pin
    with db.unit() as uow:  # a promo code campaign, with a code, for the console's pages
        start = uow.now - timedelta(hours=1)
        campaign = promotions.create_campaign(uow, promotions.CampaignSpec(
            "code", "Matrix codes", start, start + timedelta(days=7), percent_bp=1000))
        promotions.add_code(uow, campaign, "MATRIX26")
    w.ids["campaign_id"] = str(campaign)
    w.ids.update(batch_id=str(batch.batch.id), serial=batch.cards[1].serial, item_id="1",
                 method_id="1", code="std", currency="CNY", provider="sandbox",
                 action="decline", change="enable", name="portal.css",
                 staff_id=str(_login(db, "support").id))
    return w


PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def fill(path: str, ids: dict[str, str]) -> str:
    """A route's path with its parameters replaced by seeded ids."""
    return PARAM.sub(lambda m: ids[m.group(1)], path)
