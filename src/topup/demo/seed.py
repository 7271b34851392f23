"""Demo data beyond the catalogue: a traveller, an admin, a network login, lines, a retail
agent (an airport kiosk with a funded float) with its point-of-sale login, and eSIM profiles
for the store (a pool for Asia and one for the whole world, at a made-up SM-DP+).

Idempotent: running it again finds what exists and creates only what is missing. The demo
passwords are published on purpose (they are printed by ``topup demo``); never use them live.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from topup.agents import agents as agent_svc
from topup.agents.errors import TierNotFound
from topup.agents.floats import fund_float
from topup.db.uow import UnitOfWork
from topup.demo.catalog import seed_catalog
from topup.notifications.preferences import set_preferences
from topup.orders import service as orders
from topup.orders.model import OrderRequest
from topup.orders.tables import orders as orders_table
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.errors import LineNotFound

CUSTOMER = ("traveller@example.com", "demo-traveller-pass")
ADMIN = ("admin@example.com", "demo-admin-pass")
NETWORK = ("network@example.com", "demo-network-pass")
AGENT = ("agent@example.com", "demo-agent-pass")  # staff of DEMO_AGENT, for /pos
DEMO_AGENT = "Demo Airport Kiosk"
DEMO_FLOAT = 5000_00  # CN¥5,000.00, funded once (a stable funding key)


@dataclass(frozen=True)
class DemoLine:
    iccid: str
    msisdn: str
    secret: str
    kind: str
    currency: str
    country: str
    smdp: str | None = None
    matching_id: str | None = None
    bound: bool = False


LINES = (
    DemoLine("8986012345678901239", "+8613800138000", "4821", "sim", "CNY", "CN", bound=True),
    DemoLine("8944501234567890124", "+447911123456", "7315", "esim", "EUR", "GB",
             "smdp.example.com", "DEMO-ESIM-0001"),
    DemoLine("8966012345678901231", "+66812345678", "2468", "sim", "THB", "TH"),
)


def _user(uow: UnitOfWork, login: tuple[str, str], role: str) -> auth.User:
    row = auth.find_by_login(uow, login[0])
    if row is not None:
        return auth.User.of(row)
    return auth.register(uow, email=login[0], phone=None, password=login[1], role=role)


def _line(uow: UnitOfWork, spec: DemoLine) -> line_svc.Line:
    try:
        return line_svc.find_line(uow, spec.iccid)
    except LineNotFound:
        return line_svc.create_line(uow, line_svc.LineSpec(
            iccid=spec.iccid, secret=spec.secret, currency=spec.currency, msisdn=spec.msisdn,
            kind=spec.kind, smdp_address=spec.smdp, matching_id=spec.matching_id,
            home_country=spec.country))


def _agent(uow: UnitOfWork, admin: auth.User) -> None:
    """The demo kiosk, its tier, its float and its staff login (each only if missing)."""
    try:
        tier = agent_svc.get_tier(uow, "standard")
    except TierNotFound:
        tier = agent_svc.set_tier(uow, "standard", "Standard", 150, 300, actor_id=admin.id)
    found = [a for a in agent_svc.list_agents(uow) if a.name == DEMO_AGENT]
    agent = found[0] if found else agent_svc.create_agent(uow, agent_svc.AgentSpec(
        kind="store", name=DEMO_AGENT, tier=tier.code, country="CN", currency="CNY"),
        actor_id=admin.id)
    fund_float(uow, agent.id, DEMO_FLOAT, key="demo-opening-float", actor_id=admin.id,
               reason="demo: the kiosk paid its opening float")  # a replay moves nothing
    if auth.find_by_login(uow, AGENT[0]) is None:
        staff = agent_svc.add_staff(uow, agent.id, email=AGENT[0], password=AGENT[1],
                                    actor_id=admin.id)
        set_preferences(uow, staff.id, timezone="Asia/Shanghai")


def seed_demo(uow: UnitOfWork) -> dict[str, object]:
    """Seed everything; returns the logins and lines to print."""
    seed_catalog(uow)
    customer = _user(uow, CUSTOMER, "customer")
    admin = _user(uow, ADMIN, "admin")
    _user(uow, NETWORK, "network")
    made = []
    for spec in LINES:
        line = _line(uow, spec)
        if spec.bound and line.customer_id is None:
            line = line_svc.bind(uow, customer.id, spec.iccid, spec.secret) or line
        made.append((spec, line))
    first = made[0][1]
    has_credit = uow.conn.execute(select(orders_table.c.id).where(
        orders_table.c.line_id == first.id, orders_table.c.method == "manual")).first()
    if not has_credit:
        orders.create_order(uow, admin.id, first, OrderRequest(
            kind="topup", method="manual", channel="cli", amount=100_00, currency="CNY",
            reason="demo opening balance"))
    made = [(spec, line_svc.get_line(uow, line.id)) for spec, line in made]
    _agent(uow, admin)
    profiles = _esim_stock(uow)
    return {"customer": CUSTOMER, "admin": ADMIN, "network": NETWORK, "agent": AGENT,
            "lines": made, "esim_profiles": profiles}


DEMO_SMDP = "smdp.example.com"
DEMO_POOLS = (("demo-asia", "ASIA", 40), ("demo-global", "GLOBAL", 40))


def _demo_iccid(n: int) -> str:
    """ICCIDs 8998 0000 0000 00nn nnn plus a Luhn digit: a range no real issuer uses (and
    apart from the benchmarks' 8999…)."""
    body = f"899800000000{n:06d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str((10 - total % 10) % 10)


def _esim_stock(uow: UnitOfWork) -> int:
    """The store's demo stock, once: profiles nobody can really download."""
    from topup.esim.inventory import import_profiles
    from topup.esim.tables import esim_profiles

    if uow.conn.execute(select(esim_profiles.c.id).limit(1)).first():
        return 0
    rows, n = [], 0
    for ptype, zone, count in DEMO_POOLS:
        for i in range(count):
            n += 1
            rows.append({"iccid": _demo_iccid(n), "smdp_address": DEMO_SMDP,
                         "matching_id": f"{ptype.upper()}-{i:04d}", "profile_type": ptype,
                         "zone": zone})
    return sum(1 for _ in import_profiles(uow, rows))
