"""A retail counter for agent tests: an admin, a commission tier, agents with staff logins,
lines to top up, and helpers to fund floats, sign terminal requests and read the ledger."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.factories import Api, make_line, make_user
from topup.db.uow import Database
from topup.ledger import service as ledger
from topup.subscribers.lines import Line

TIER_BP = 150  # 1.5 % of each top-up
VOUCHER_BP = 300


@dataclass
class Counter:
    """An operator with one tier, and what tests add to it."""

    api: Api
    staff: dict[str, str]  # the operator's admin
    logins: dict[int, dict[str, str]] = field(default_factory=dict)  # agent id -> POS staff

    @property
    def db(self) -> Database:
        return self.api.db

    def agent(self, name: str = "Corner Store", *, kind: str = "store", currency: str = "CNY",
              country: str = "HK", parent_id: int | None = None, tier: str = "std") -> int:
        r = self.api.client.post("/api/v1/admin/agents", headers=self.staff, json={
            "kind": kind, "name": name, "tier": tier, "country": country,
            "currency": currency, "parent_id": parent_id})
        assert r.status_code == 201, r.text
        agent_id = int(r.json()["id"])
        email = f"pos-{uuid.uuid4().hex[:8]}@example.com"
        r = self.api.client.post(f"/api/v1/admin/agents/{agent_id}/staff", headers=self.staff,
                                 json={"email": email, "password": "correct-horse-battery"})
        assert r.status_code == 201, r.text
        self.logins[agent_id] = self.api.login(email)
        return agent_id

    def fund(self, agent_id: int, amount: int, reference: str | None = None) -> Any:
        return self.api.post(f"/api/v1/admin/agents/{agent_id}/float", self.staff,
                             key=uuid.uuid4().hex, json={
                                 "amount": amount, "reference": reference or uuid.uuid4().hex,
                                 "reason": "paid by bank transfer"})

    def topup(self, agent_id: int, line: str, amount: int, key: str | None = None,
              **extra: Any) -> Any:
        return self.api.post("/api/v1/pos/topups", self.logins[agent_id],
                             key=key or uuid.uuid4().hex,
                             json={"line": line, "amount": amount, **extra})

    def float_of(self, agent_id: int) -> int:
        with self.db.unit() as uow:
            acct = ledger.open_account(uow, f"agent:{agent_id}:float:money:CNY", "money:CNY",
                                       "agent_float", no_overdraft=True)
            return ledger.balance(uow, acct).posted

    def wallet(self, line_id: int, currency: str = "CNY") -> int:
        with self.db.unit(readonly=True) as uow:
            found = ledger.wallets(uow, line_id).get(currency)
            return found.posted if found else 0

    def transfers(self) -> int:
        with self.db.unit(readonly=True) as uow:
            return ledger.count_transfers(uow)


def with_settings(db: Database, **changes: Any) -> Database:
    """The same database seen with other settings (e.g. KYC countries)."""
    return Database(db.engine, dataclasses.replace(db.settings, **changes), db.clock)


def open_counter(db: Database) -> Counter:
    api = Api(db)
    staff = api.login(str(make_user(db, "admin").email))
    r = api.client.put("/api/v1/admin/agent-tiers/std", headers=staff, json={
        "name": "Standard", "topup_bp": TIER_BP, "voucher_bp": VOUCHER_BP})
    assert r.status_code == 200, r.text
    return Counter(api, staff)


@pytest.fixture
def counter(db: Database) -> Counter:
    return open_counter(db)


@pytest.fixture
def line(db: Database) -> Line:
    """A CNY line of a Hong Kong number."""
    return make_line(db, msisdn="+85261234567", country="HK")


# --- terminals -----------------------------------------------------------------------------

def sign(secret: str, ts: int, nonce: str, method: str, target: str, body: bytes) -> str:
    """The signature as a terminal computes it (written from the spec, not from the server)."""
    text = f"{ts}\n{nonce}\n{method}\n{target}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


@dataclass
class Kiosk:
    """A terminal's side of the protocol."""

    api: Api
    terminal_id: int
    key_id: str
    secret: str
    now: Any  # () -> unix seconds, the clock the server sees

    def headers(self, method: str, target: str, body: bytes, *, ts: int | None = None,
                nonce: str | None = None, key: str | None = None) -> dict[str, str]:
        ts = self.now() if ts is None else ts
        nonce = nonce or secrets.token_urlsafe(18)
        h = {"X-Terminal-Key": self.key_id, "X-Timestamp": str(ts), "X-Nonce": nonce,
             "X-Signature": sign(self.secret, ts, nonce, method, target, body),
             "Content-Type": "application/json"}
        if key:
            h["Idempotency-Key"] = key
        return h

    def post(self, path: str, payload: dict[str, Any], key: str | None = None, **kw: Any
             ) -> Any:
        body = json.dumps(payload).encode()
        target = f"/api/v1/terminal{path}"
        hdrs = self.headers("POST", target, body, key=key or uuid.uuid4().hex, **kw)
        return self.api.client.post(target, content=body, headers=hdrs)

    def get(self, path: str, **kw: Any) -> Any:
        target = f"/api/v1/terminal{path}"
        return self.api.client.get(target, headers=self.headers("GET", target, b"", **kw))


def make_kiosk(counter: Counter, agent_id: int, label: str = "Airport hall B") -> Kiosk:
    r = counter.api.client.post(f"/api/v1/admin/agents/{agent_id}/terminals",
                                headers=counter.staff, json={"label": label})
    assert r.status_code == 201, r.text
    t = r.json()
    return Kiosk(counter.api, t["id"], t["key_id"], t["secret"],
                 lambda: int(counter.db.clock().timestamp()))
