"""Retail agents (chains and their stores, dealers, post offices, kiosk operators), their
commission tiers and their staff logins.

A store belongs to a chain (``parent_id``); suspending a chain stops its stores selling too.
Staff are users with the role ``agent``, each linked to exactly one agent; every POS call acts
for the caller's own agent, and a chain's staff may also read its stores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from topup.agents.errors import (
    AgentNotFound,
    AgentSuspended,
    InvalidAgent,
    NotAgentStaff,
    TierNotFound,
)
from topup.agents.tables import AGENT_KINDS, MAX_BP, agent_staff, agents, commission_tiers
from topup.audit.service import record as audit
from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.money import offered_currency
from topup.subscribers import auth
from topup.subscribers.auth import User

MAX_DEPTH = 4  # chain -> store is all we need; the bound only guards against cycles


@dataclass(frozen=True)
class Tier:
    """A commission tier: basis points of each top-up and each voucher sale (100 bp = 1 %)."""

    code: str
    name: str
    topup_bp: int
    voucher_bp: int

    @classmethod
    def of(cls, row: Any) -> Tier:
        return cls(row.code, row.name, int(row.topup_bp), int(row.voucher_bp))


@dataclass(frozen=True)
class Agent:
    """A retail agent as the services see it."""

    id: int
    kind: str
    name: str
    parent_id: int | None
    tier: str
    country: str
    currency: str
    state: str
    created_at: datetime

    @classmethod
    def of(cls, row: Any) -> Agent:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class AgentSpec:
    """What the operator gives to create an agent."""

    kind: str
    name: str
    tier: str
    country: str
    currency: str
    parent_id: int | None = None


def _check_bp(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_BP:
        raise InvalidAgent(f"{name} is 0 to {MAX_BP} basis points", field=name)
    return value


def set_tier(uow: UnitOfWork, code: str, name: str, topup_bp: int, voucher_bp: int, *,
             actor_id: int | None) -> Tier:
    """Create or change a commission tier; the change applies to sales from now on."""
    code = code.strip().lower()
    if not code or len(code) > 20 or not code.replace("-", "").replace("_", "").isalnum():
        raise InvalidAgent("a tier code has 1 to 20 letters, digits, - or _", field="code")
    if not name.strip():
        raise InvalidAgent("a tier needs a name", field="name")
    values = {"name": name.strip()[:100], "topup_bp": _check_bp("topup_bp", topup_bp),
              "voucher_bp": _check_bp("voucher_bp", voucher_bp), "updated_at": uow.now}
    uow.conn.execute(insert_ignore(uow, commission_tiers, values | {
        "code": code, "created_at": uow.now}, ["code"]))
    uow.conn.execute(update(commission_tiers).where(commission_tiers.c.code == code)
                     .values(**values))
    audit(uow, actor_id, "agent.tier_set", f"tier:{code}", topup_bp=topup_bp,
          voucher_bp=voucher_bp)
    return get_tier(uow, code)


def get_tier(uow: UnitOfWork, code: str) -> Tier:
    """The tier with ``code``; raises TierNotFound."""
    row = uow.conn.execute(select(commission_tiers).where(
        commission_tiers.c.code == code.strip().lower())).first()
    if row is None:
        raise TierNotFound(f"no commission tier {code!r}")
    return Tier.of(row)


def list_tiers(uow: UnitOfWork) -> list[Tier]:
    """Every commission tier, by code."""
    rows = uow.conn.execute(select(commission_tiers).order_by(commission_tiers.c.code))
    return [Tier.of(r) for r in rows]


def _check_spec(uow: UnitOfWork, spec: AgentSpec) -> dict[str, Any]:
    if spec.kind not in AGENT_KINDS:
        raise InvalidAgent(f"kind is one of {', '.join(AGENT_KINDS)}", field="kind")
    name = spec.name.strip()
    if not name or len(name) > 200:
        raise InvalidAgent("a name has 1 to 200 characters", field="name")
    country = spec.country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise InvalidAgent("country is an ISO 3166 alpha-2 code", field="country")
    if spec.parent_id is not None:
        parent = get_agent(uow, spec.parent_id)
        if parent.kind != "chain" or spec.kind == "chain":
            raise InvalidAgent("only a chain has members, and a chain has no parent",
                               field="parent_id")
    return {"kind": spec.kind, "name": name, "parent_id": spec.parent_id,
            "tier": get_tier(uow, spec.tier).code, "country": country,
            "currency": offered_currency(spec.currency, uow.settings.currencies)}


def create_agent(uow: UnitOfWork, spec: AgentSpec, *, actor_id: int | None) -> Agent:
    """Add an active agent; its float opens empty on first use."""
    values = _check_spec(uow, spec)
    new_id = uow.conn.execute(insert(agents).values(
        **values, state="active", created_at=uow.now, state_changed_at=uow.now,
    ).returning(agents.c.id)).scalar_one()
    audit(uow, actor_id, "agent.create", f"agent:{new_id}", kind=spec.kind, name=values["name"])
    return get_agent(uow, int(new_id))


def get_agent(uow: UnitOfWork, agent_id: int, *, lock: bool = False) -> Agent:
    """The agent; with ``lock``, its row is locked until the unit of work ends (PostgreSQL),
    which queues every value movement of one agent behind the one before."""
    query = select(agents).where(agents.c.id == agent_id)
    if lock and uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    if row is None:
        raise AgentNotFound(f"no agent {agent_id}")
    return Agent.of(row)


def list_agents(uow: UnitOfWork, *, parent_id: int | None = None) -> list[Agent]:
    """Every agent, or the members of one chain, by id."""
    query = select(agents).order_by(agents.c.id)
    if parent_id is not None:
        query = query.where(agents.c.parent_id == parent_id)
    return [Agent.of(r) for r in uow.conn.execute(query)]


def set_state(uow: UnitOfWork, agent_id: int, state: str, *, actor_id: int | None,
              reason: str) -> Agent:
    """Suspend or re-activate an agent (a reason is required and audited)."""
    if state not in ("active", "suspended"):
        raise InvalidAgent("state is active or suspended", field="state")
    if not reason.strip():
        raise InvalidAgent("a reason is required", field="reason")
    agent = get_agent(uow, agent_id, lock=True)
    if agent.state != state:
        uow.conn.execute(update(agents).where(agents.c.id == agent_id).values(
            state=state, state_changed_at=uow.now))
        audit(uow, actor_id, f"agent.{'suspend' if state == 'suspended' else 'activate'}",
              f"agent:{agent_id}", reason=reason.strip())
    return get_agent(uow, agent_id)


def ensure_active(uow: UnitOfWork, agent: Agent) -> None:
    """Raise AgentSuspended unless the agent and every chain above it are active."""
    current: Agent | None = agent
    for _ in range(MAX_DEPTH):
        if current is None:
            return
        if current.state != "active":
            raise AgentSuspended(f"agent {current.id} ({current.name}) is suspended",
                                 agent_id=current.id)
        current = get_agent(uow, current.parent_id) if current.parent_id else None


def add_staff(uow: UnitOfWork, agent_id: int, *, email: str | None, password: str,
              phone: str | None = None, actor_id: int | None) -> User:
    """Create a login with the role ``agent`` that acts for ``agent_id`` (argon2id password)."""
    get_agent(uow, agent_id)
    user = auth.register(uow, email=email, phone=phone, password=password, role="agent")
    uow.conn.execute(insert(agent_staff).values(user_id=user.id, agent_id=agent_id,
                                                created_at=uow.now))
    audit(uow, actor_id, "agent.staff_add", f"agent:{agent_id}", user_id=user.id)
    return user


def remove_staff(uow: UnitOfWork, agent_id: int, user_id: int, *, actor_id: int | None
                 ) -> None:
    """Unlink a staff login: it can no longer act for the agent (its tokens stay harmless)."""
    gone = uow.conn.execute(delete(agent_staff).where(
        agent_staff.c.agent_id == agent_id, agent_staff.c.user_id == user_id)).rowcount
    if not gone:
        raise NotAgentStaff(f"user {user_id} is not staff of agent {agent_id}")
    audit(uow, actor_id, "agent.staff_remove", f"agent:{agent_id}", user_id=user_id)


def staff_ids(uow: UnitOfWork, agent_id: int) -> list[int]:
    """The user ids of an agent's staff."""
    return [int(i) for i in uow.conn.execute(select(agent_staff.c.user_id).where(
        agent_staff.c.agent_id == agent_id).order_by(agent_staff.c.user_id)).scalars()]


def agent_of_staff(uow: UnitOfWork, user: User) -> Agent:
    """The agent a staff login acts for; NotAgentStaff when it acts for none."""
    agent_id = uow.conn.execute(select(agent_staff.c.agent_id).where(
        agent_staff.c.user_id == user.id)).scalar()
    if user.role != "agent" or agent_id is None:
        raise NotAgentStaff("this login is not staff of any agent")
    return get_agent(uow, int(agent_id))


def visible_agent(uow: UnitOfWork, viewer: Agent, agent_id: int | None) -> Agent:
    """``agent_id`` as seen by the viewer's staff: itself, or one of its chain's members.
    Another agent is reported as not found, so staff learn nothing of it."""
    if agent_id is None or agent_id == viewer.id:
        return viewer
    try:
        other = get_agent(uow, agent_id)
    except AgentNotFound:
        other = None
    if other is None or other.parent_id != viewer.id:
        raise AgentNotFound(f"no agent {agent_id}")
    return other
