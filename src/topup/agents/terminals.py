"""Terminals (kiosks, ATMs, self-service machines): credentials and request authentication.

Each terminal belongs to an agent (its kiosk operator, whose float pays its sales) and has a
public key id and a secret shown once, when it is created or rotated. The server never stores
the secret: it derives it again when a request comes in::

    server_key = HMAC-SHA256(TOPUP_SECRET_KEY, "topup/agents/terminal-secret/v1")
    secret     = base64url(HMAC-SHA256(server_key, key_id + "\\n" + salt)), unpadded

``salt`` is random per terminal and replaced on rotation, so a rotated secret stops working
at once. Changing ``TOPUP_SECRET_KEY`` therefore invalidates every terminal secret (rotate
them all after such a change).

Each terminal also owns a user row (role ``terminal``, a random password nobody knows) that
stands for it on orders, in the audit log and as the owner of its Idempotency-Keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from topup.agents.agents import get_agent
from topup.agents.errors import (
    InvalidAgent,
    NonceReplayed,
    SignatureInvalid,
    TerminalDisabled,
    TerminalNotFound,
    TimestampOutOfWindow,
)
from topup.agents.signing import WINDOW_SECONDS, SignedRequest, signature_matches, within_window
from topup.agents.tables import TERMINAL_STATES, agent_terminals, terminal_nonces
from topup.audit.service import record as audit
from topup.db.dialect import insert_ignore
from topup.db.uow import UnitOfWork
from topup.subscribers import auth


@dataclass(frozen=True)
class Terminal:
    """A terminal as the services see it (never with its secret)."""

    id: int
    agent_id: int
    user_id: int
    key_id: str
    label: str
    state: str
    created_at: datetime
    last_seen_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> Terminal:
        return cls(**{k: row._mapping[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Credentials:
    """A terminal with its secret: returned once, at creation or rotation, never again."""

    terminal: Terminal
    secret: str


def _server_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"topup/agents/terminal-secret/v1",
                    hashlib.sha256).digest()


def derive_secret(secret_key: str, key_id: str, salt: str) -> str:
    """The terminal's secret, recomputed from the server key, its key id and its salt."""
    mac = hmac.new(_server_key(secret_key), f"{key_id}\n{salt}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def create_terminal(uow: UnitOfWork, agent_id: int, label: str, *, actor_id: int | None
                    ) -> Credentials:
    """Register a terminal for ``agent_id``; the returned secret is shown this once."""
    agent = get_agent(uow, agent_id)
    label = label.strip()
    if not label or len(label) > 100:
        raise InvalidAgent("a terminal label has 1 to 100 characters", field="label")
    key_id = "tk_" + secrets.token_hex(8)
    user = auth.register(uow, email=f"terminal-{key_id}@terminals.invalid", phone=None,
                         password=secrets.token_urlsafe(48), role="terminal",
                         currency=agent.currency)
    salt = secrets.token_urlsafe(32)
    new_id = uow.conn.execute(insert(agent_terminals).values(
        agent_id=agent.id, user_id=user.id, key_id=key_id, salt=salt, label=label,
        state="active", created_at=uow.now, state_changed_at=uow.now,
    ).returning(agent_terminals.c.id)).scalar_one()
    audit(uow, actor_id, "terminal.create", f"terminal:{new_id}", agent_id=agent.id,
          key_id=key_id)
    return Credentials(get_terminal(uow, int(new_id)),
                       derive_secret(uow.settings.secret_key, key_id, salt))


def rotate_secret(uow: UnitOfWork, terminal_id: int, *, actor_id: int | None) -> Credentials:
    """Give the terminal a new secret (shown once); the old one stops working now."""
    terminal = get_terminal(uow, terminal_id)
    salt = secrets.token_urlsafe(32)
    uow.conn.execute(update(agent_terminals).where(agent_terminals.c.id == terminal.id)
                     .values(salt=salt))
    audit(uow, actor_id, "terminal.rotate", f"terminal:{terminal.id}")
    return Credentials(terminal, derive_secret(uow.settings.secret_key, terminal.key_id, salt))


def set_state(uow: UnitOfWork, terminal_id: int, state: str, *, actor_id: int | None,
              reason: str) -> Terminal:
    """Disable or re-enable a terminal (reason required, audited)."""
    if state not in TERMINAL_STATES:
        raise InvalidAgent("state is active or disabled", field="state")
    if not reason.strip():
        raise InvalidAgent("a reason is required", field="reason")
    terminal = get_terminal(uow, terminal_id)
    if terminal.state != state:
        uow.conn.execute(update(agent_terminals).where(agent_terminals.c.id == terminal.id)
                         .values(state=state, state_changed_at=uow.now))
        audit(uow, actor_id, f"terminal.{'disable' if state == 'disabled' else 'enable'}",
              f"terminal:{terminal.id}", reason=reason.strip())
    return get_terminal(uow, terminal_id)


def get_terminal(uow: UnitOfWork, terminal_id: int) -> Terminal:
    """One terminal; raises TerminalNotFound."""
    row = uow.conn.execute(select(agent_terminals).where(
        agent_terminals.c.id == terminal_id)).first()
    if row is None:
        raise TerminalNotFound(f"no terminal {terminal_id}")
    return Terminal.of(row)


def terminals_of(uow: UnitOfWork, agent_id: int) -> list[Terminal]:
    """An agent's terminals, by id."""
    rows = uow.conn.execute(select(agent_terminals).where(
        agent_terminals.c.agent_id == agent_id).order_by(agent_terminals.c.id))
    return [Terminal.of(r) for r in rows]


def authenticate(uow: UnitOfWork, req: SignedRequest) -> Terminal:
    """The terminal that signed ``req``, after checking signature, clock window, state and
    nonce, in that order; the nonce is recorded so the same request is refused next time.

    Run it in a unit of work of its own that commits before the request's work starts: a
    nonce must stay spent even when the work is refused and rolled back.
    """
    row = uow.conn.execute(select(agent_terminals).where(
        agent_terminals.c.key_id == req.key_id)).first()
    salt = row.salt if row is not None else "unknown-terminal"
    # Compute a signature even for an unknown key, so timing does not tell keys apart.
    secret = derive_secret(uow.settings.secret_key, req.key_id, salt)
    if not signature_matches(secret, req) or row is None:
        raise SignatureInvalid("the signature does not match")
    if not within_window(req.timestamp, int(uow.now.timestamp())):
        raise TimestampOutOfWindow(
            f"X-Timestamp must be within {WINDOW_SECONDS} seconds of the server's clock",
            server_time=int(uow.now.timestamp()))
    terminal = Terminal.of(row)
    if terminal.state != "active":
        raise TerminalDisabled("this terminal is disabled; contact the operator")
    _spend_nonce(uow, terminal.id, req)
    uow.conn.execute(update(agent_terminals).where(agent_terminals.c.id == terminal.id)
                     .values(last_seen_at=uow.now))
    return terminal


def _spend_nonce(uow: UnitOfWork, terminal_id: int, req: SignedRequest) -> None:
    # A nonce matters only while a request carrying it could pass the clock window, that is
    # until its timestamp plus the window; older ones are pruned as we go.
    uow.conn.execute(delete(terminal_nonces).where(
        terminal_nonces.c.terminal_id == terminal_id, terminal_nonces.c.expires_at < uow.now))
    expires = datetime.fromtimestamp(req.timestamp, uow.now.tzinfo) + timedelta(
        seconds=WINDOW_SECONDS)
    stored = uow.conn.execute(insert_ignore(uow, terminal_nonces, {
        "terminal_id": terminal_id, "nonce": req.nonce, "expires_at": expires,
    }, ["terminal_id", "nonce"]).returning(terminal_nonces.c.nonce)).first()
    if stored is None:
        raise NonceReplayed("this nonce was already used; sign every request with a new one")
