"""Retail agents in the console: chains and their stores, a new agent, an agent's page (float,
tier, staff logins, terminals, today's statement), suspending and re-activating, staff logins,
funding the float once per form, terminals (credentials shown once), each terminal's
reconciliation for a day, and the commission tiers.

Reading is for every staff role; funding a float is for finance (``agents.fund``); the rest
changes the network of agents and is for admins (``agents.write``). The services audit every
change themselves.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.agents import agents as agent_svc
from topup.agents import terminals as terminal_svc
from topup.agents.floats import float_balance, fund_float
from topup.agents.statements import daily_statement, terminal_report
from topup.agents.tables import AGENT_KINDS
from topup.channels.admin.pages import money_field, page, reason_of
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.orders.idempotency import run_once
from topup.subscribers import auth

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
READ, WRITE, FUND = allowed("agents.read"), allowed("agents.write"), allowed("agents.fund")

KINDS = {"chain": N_("Chain"), "store": N_("Store"), "dealer": N_("Dealer"),
         "post_office": N_("Post office"), "kiosk_operator": N_("Kiosk operator")}
STATES = {"active": N_("Active"), "suspended": N_("Suspended"), "disabled": N_("Disabled")}


def percent_of(bp: int) -> str:
    """Basis points as a percentage: 150 -> ``1.5%``."""
    return f"{bp / 100:g}%"


LABELS: dict[str, Any] = {"agent_kinds": KINDS, "agent_states": STATES, "pct": percent_of}


@router.get("/admin/agents")
def listing(w: Web = Depends(READ)) -> Response:
    """Every agent: chains with their stores beneath them, then the others."""
    with w.db.unit(readonly=True) as uow:
        everyone = agent_svc.list_agents(uow)
    members = {a.id: [m for m in everyone if m.parent_id == a.id] for a in everyone}
    tops = [a for a in everyone if a.parent_id is None]
    return page(w, "admin/agents.html", "agents", tops=tops, members=members, **LABELS)


def _new_page(w: Web, form: Form, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        tiers = agent_svc.list_tiers(uow)
        chains = [a for a in agent_svc.list_agents(uow) if a.kind == "chain"]
    return page(w, "admin/agent_new.html", "agents", status=status, form=form,
                tiers=[(t.code, f"{t.code} · {t.name}") for t in tiers],
                chains=[(c.id, c.name) for c in chains],
                kind_choices=[(k, w.t.gettext(KINDS[k])) for k in AGENT_KINDS],
                currencies=[(c, c) for c in w.db.settings.currencies])


@router.get("/admin/agents/new")
def new_agent(w: Web = Depends(WRITE)) -> Response:
    """The form for a new agent."""
    return _new_page(w, Form({"kind": "store", "currency": w.db.settings.default_currency}))


@router.post("/admin/agents/new")
def create(form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Add the agent; its float opens empty."""
    parent = form.get("parent_id")
    spec = agent_svc.AgentSpec(kind=form.get("kind"), name=form.get("name"),
                               tier=form.get("tier"), country=form.get("country"),
                               currency=form.get("currency"),
                               parent_id=int(parent) if parent.isdigit() else None)
    try:
        agent = w.db.transact(lambda uow: agent_svc.create_agent(uow, spec, actor_id=w.me().id),
                              what="agent")
    except TopupError as exc:
        form.refuse(w.t, exc, "name")
        return _new_page(w, form, 422)
    return w.redirect(f"/admin/agents/{agent.id}", notice="agent_created")


def _detail(uow: UnitOfWork, agent_id: int) -> dict[str, Any]:
    agent = agent_svc.get_agent(uow, agent_id)
    staff = agent_svc.staff_ids(uow, agent.id)
    return {"agent": agent, "balance": float_balance(uow, agent),
            "tier": agent_svc.get_tier(uow, agent.tier),
            "parent": agent_svc.get_agent(uow, agent.parent_id) if agent.parent_id else None,
            "members": agent_svc.list_agents(uow, parent_id=agent.id),
            "staff": sorted(auth.login_names(uow, staff).items()),
            "terminals": terminal_svc.terminals_of(uow, agent.id), "today": uow.now.date()}


def _agent_page(w: Web, agent_id: int, form: Form | None = None, status: int = 200
                ) -> Response:
    # the float's account opens on first sight
    data = w.db.transact(lambda uow: _detail(uow, agent_id), what="agent float account")
    form = form or Form({})
    form.key("fund_key")
    return page(w, "admin/agent.html", "agents", status=status, form=form, **data, **LABELS)


@router.get("/admin/agents/{agent_id:int}")
def detail(agent_id: DbId, w: Web = Depends(READ)) -> Response:
    """One agent: its float, tier, chain, staff logins and terminals."""
    return _agent_page(w, agent_id)


def _done(w: Web, agent_id: int, form: Form, field: str, change: Any, notice: str
          ) -> Response:
    if form.ok:
        try:
            w.db.transact(change, what=notice)
            return w.redirect(f"/admin/agents/{agent_id}", notice=notice)
        except TopupError as exc:
            form.refuse(w.t, exc, field)
    return _agent_page(w, agent_id, form, 422)


@router.post("/admin/agents/{agent_id:int}/suspend")
def suspend(agent_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Stop the agent (and a chain's stores) selling; its float stays."""
    reason = reason_of(w, form, "state_reason")
    return _done(w, agent_id, form, "state_reason", lambda uow: agent_svc.set_state(
        uow, agent_id, "suspended", actor_id=w.me().id, reason=reason), "agent_suspended")


@router.post("/admin/agents/{agent_id:int}/activate")
def activate(agent_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Let a suspended agent sell again."""
    reason = reason_of(w, form, "state_reason")
    return _done(w, agent_id, form, "state_reason", lambda uow: agent_svc.set_state(
        uow, agent_id, "active", actor_id=w.me().id, reason=reason), "agent_activated")


@router.post("/admin/agents/{agent_id:int}/staff")
def add_staff(agent_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
              ) -> Response:
    """Create a POS login that acts for this agent."""
    if not (form.get("staff_email") or form.get("staff_phone")):
        form.fail("staff_email", w.t.gettext("Give an e-mail address or a phone number."))
    return _done(w, agent_id, form, "staff_email", lambda uow: agent_svc.add_staff(
        uow, agent_id, email=form.get("staff_email") or None,
        phone=form.get("staff_phone") or None, password=form.raw("staff_password"),
        actor_id=w.me().id), "agent_staff_added")


@router.post("/admin/agents/{agent_id:int}/staff/{user_id:int}/remove")
def remove_staff(agent_id: DbId, user_id: DbId, form: Form = Depends(posted),
                 w: Web = Depends(WRITE)) -> Response:
    """Unlink a POS login: it can no longer act for the agent."""
    return _done(w, agent_id, form, "", lambda uow: agent_svc.remove_staff(
        uow, agent_id, user_id, actor_id=w.me().id), "agent_staff_removed")


@router.post("/admin/agents/{agent_id:int}/float")
def fund(agent_id: DbId, form: Form = Depends(posted), w: Web = Depends(FUND)) -> Response:
    """Credit the float after the agent paid; once per form, and once per payment reference."""
    user = w.me()
    with w.db.unit(readonly=True) as uow:
        agent = agent_svc.get_agent(uow, agent_id)
    amount = money_field(w, form, "fund_amount", agent.currency)
    if not form.get("fund_reference"):
        form.fail("fund_reference", w.t.gettext("Enter the agent's payment reference."))
    reason = reason_of(w, form, "fund_reason")
    if not form.ok or amount is None:
        return _agent_page(w, agent_id, form, 422)
    reference = form.get("fund_reference")
    body = {"amount": amount, "reference": reference, "reason": reason}

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        done = fund_float(uow, agent_id, amount, key=reference, reason=reason,
                          actor_id=user.id)
        return 201, {"transfer_id": done.transfer_id, "replayed": done.replayed}

    try:
        outcome = run_once(w.db, user.id, form.get("fund_key"), "POST",
                           f"/admin/agents/{agent_id}/float", body, work, retry=True)
    except TopupError as exc:
        form.refuse(w.t, exc, "fund_reference" if exc.code == "float_funding_conflict"
                    else "fund_amount")
        return _agent_page(w, agent_id, form, exc.status)
    replayed = outcome.replayed or outcome.body.get("replayed")
    return w.redirect(f"/admin/agents/{agent_id}",
                      notice="float_already_funded" if replayed else "float_funded")


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/admin/agents/{agent_id:int}/statement")
def statement(agent_id: DbId, day: str = Query("", alias="date", max_length=10),
              w: Web = Depends(READ)) -> Response:
    """The agent's float over one UTC day (today unless ``date`` names another)."""
    with w.db.unit(readonly=True, replica=True) as uow:
        agent = agent_svc.get_agent(uow, agent_id)
        st = daily_statement(uow, agent.id, _day(day) or uow.now.date())
    return page(w, "admin/agent_statement.html", "agents", agent=agent, st=st,
                prev=st.day - timedelta(days=1), following=st.day + timedelta(days=1),
                as_of=uow.as_of)


@router.post("/admin/agents/{agent_id:int}/terminals")
def create_terminal(agent_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
                    ) -> Response:
    """Register a terminal and show its secret, this once."""
    try:
        made = w.db.transact(lambda uow: terminal_svc.create_terminal(
            uow, agent_id, form.get("terminal_label"), actor_id=w.me().id), what="terminal")
    except TopupError as exc:
        form.refuse(w.t, exc, "terminal_label")
        return _agent_page(w, agent_id, form, 422)
    return _secret_page(w, made, created=True)


def _secret_page(w: Web, made: terminal_svc.Credentials, created: bool) -> Response:
    with w.db.unit(readonly=True) as uow:
        agent = agent_svc.get_agent(uow, made.terminal.agent_id)
    return page(w, "admin/terminal_secret.html", "agents", agent=agent, terminal=made.terminal,
                secret=made.secret, created=created)


def _terminal_state(w: Web, terminal_id: int, form: Form, state: str) -> Response:
    with w.db.unit(readonly=True) as uow:
        terminal = terminal_svc.get_terminal(uow, terminal_id)
    name = f"t{terminal.id}_reason"
    reason = reason_of(w, form, name)
    return _done(w, terminal.agent_id, form, name, lambda uow: terminal_svc.set_state(
        uow, terminal_id, state, actor_id=w.me().id, reason=reason),
        "terminal_disabled" if state == "disabled" else "terminal_enabled")


@router.post("/admin/terminals/{terminal_id:int}/disable")
def disable_terminal(terminal_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
                     ) -> Response:
    """Disable a terminal: its requests are refused from now on."""
    return _terminal_state(w, terminal_id, form, "disabled")


@router.post("/admin/terminals/{terminal_id:int}/enable")
def enable_terminal(terminal_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
                    ) -> Response:
    """Enable a disabled terminal (its secret is unchanged)."""
    return _terminal_state(w, terminal_id, form, "active")


@router.post("/admin/terminals/{terminal_id:int}/rotate")
def rotate(terminal_id: DbId, form: Form = Depends(posted), w: Web = Depends(WRITE)
           ) -> Response:
    """Give the terminal a new secret, shown this once; the old one stops working now."""
    made = w.db.transact(lambda uow: terminal_svc.rotate_secret(uow, terminal_id,
                                                                actor_id=w.me().id),
                         what="terminal secret")
    return _secret_page(w, made, created=False)


@router.get("/admin/terminals/{terminal_id:int}/reconciliation")
def reconciliation(terminal_id: DbId, day: str = Query("", alias="date", max_length=10),
                   w: Web = Depends(READ)) -> Response:
    """What one terminal sold on one UTC day, per tender, to reconcile its cash box."""
    with w.db.unit(readonly=True, replica=True) as uow:
        terminal = terminal_svc.get_terminal(uow, terminal_id)
        report = terminal_report(uow, terminal.id, _day(day) or uow.now.date())
        agent = agent_svc.get_agent(uow, terminal.agent_id)
    return page(w, "admin/terminal_report.html", "agents", agent=agent, terminal=terminal,
                report=report, prev=report.day - timedelta(days=1),
                following=report.day + timedelta(days=1), as_of=uow.as_of)


def _tiers_page(w: Web, form: Form | None = None, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        tiers = agent_svc.list_tiers(uow)
    return page(w, "admin/agent_tiers.html", "agents", status=status, tiers=tiers,
                form=form or Form({}), **LABELS)


@router.get("/admin/agents/tiers")
def tiers(w: Web = Depends(READ)) -> Response:
    """The commission tiers: what agents earn on top-ups and on voucher sales."""
    return _tiers_page(w)


def _bp(w: Web, form: Form, name: str) -> int:
    raw = form.get(name)
    if not raw.isdigit() or int(raw) > 10000:
        form.fail(name, w.t.gettext("Enter basis points from 0 to 10000 (100 basis points "
                                    "are 1 percent)."))
        return 0
    return int(raw)


@router.post("/admin/agents/tiers")
def set_tier(form: Form = Depends(posted), w: Web = Depends(WRITE)) -> Response:
    """Create or change a tier; it applies to sales from now on."""
    topup_bp, voucher_bp = _bp(w, form, "topup_bp"), _bp(w, form, "voucher_bp")
    if form.ok:
        try:
            w.db.transact(lambda uow: agent_svc.set_tier(
                uow, form.get("code"), form.get("name"), topup_bp, voucher_bp,
                actor_id=w.me().id), what="agent tier")
            return w.redirect("/admin/agents/tiers", notice="tier_saved")
        except TopupError as exc:
            form.refuse(w.t, exc, "code")
    return _tiers_page(w, form, 422)
