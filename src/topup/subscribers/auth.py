"""Registration, login with back-off, and bearer tokens (password reset: ``reset.py``).

Passwords are hashed with argon2id. Bearer tokens are random and stored only as SHA-256, so a
database leak yields no usable token; sessions live in the database, never in process memory.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Row

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput, RateLimited
from topup.money import offered_currency
from topup.subscribers import limits, throttle
from topup.subscribers.errors import BadCredentials, LoginTaken, Unauthenticated, UserNotFound
from topup.subscribers.identity import canonical_login, normalise_email, normalise_phone
from topup.subscribers.tables import ROLES, auth_tokens, users
from topup.subscribers.token_cache import TOKENS

MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    """A person or system that logs in: a customer, agent, terminal, network element or admin."""

    id: int
    email: str | None
    phone: str | None
    role: str
    language: str
    currency: str

    @classmethod
    def of(cls, row: Row) -> User:
        return cls(row.id, row.email, row.phone, row.role, row.language, row.currency)


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, type=Type.ID)


def hasher(uow: UnitOfWork) -> PasswordHasher:
    """The argon2id hasher configured by the settings."""
    return _hasher(uow.settings.argon2_time_cost, uow.settings.argon2_memory_kib)


def check_password(password: str) -> None:
    """Raise InvalidInput unless the password has an acceptable length."""
    if len(password) < MIN_PASSWORD or len(password) > 256:
        raise InvalidInput(f"a password has {MIN_PASSWORD} to 256 characters", field="password")


def register(
    uow: UnitOfWork, *, email: str | None, phone: str | None, password: str,
    role: str = "customer", language: str = "en", currency: str | None = None,
) -> User:
    """Create a user; e-mail and/or phone (E.164) are the logins.

    Raises LoginTaken, the same for a taken e-mail and a taken phone; the password is hashed
    first, so a taken login answers no faster than a new one.
    """
    if not email and not phone:
        raise InvalidInput("give an e-mail address or a phone number", field="email")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", field="role")
    if language not in ("en", "zh-CN"):
        raise InvalidInput("language is en or zh-CN", field="language")
    check_password(password)
    mail = normalise_email(email) if email else None
    tel = normalise_phone(phone) if phone else None
    cur = offered_currency(currency or uow.settings.default_currency, uow.settings.currencies)
    password_hash = hasher(uow).hash(password)
    if mail and uow.conn.execute(select(users.c.id).where(users.c.email == mail)).first():
        raise LoginTaken()
    if tel and uow.conn.execute(select(users.c.id).where(users.c.phone == tel)).first():
        raise LoginTaken()
    new_id = uow.conn.execute(insert(users).values(
        email=mail, phone=tel, password_hash=password_hash, role=role,
        language=language, currency=cur, disabled=False, created_at=uow.now,
    ).returning(users.c.id)).scalar_one()
    return User(int(new_id), mail, tel, role, language, cur)


def admit_registration(uow: UnitOfWork, ip: str | None) -> int:
    """Count one registration attempt of ``ip``: 0 while within its budget, else the seconds
    to wait. The caller commits this unit, then raises ``registration_refused``."""
    if not ip:
        return 0
    name, rule = limits.register_key(uow.settings, ip)
    return throttle.spend(uow, name, rule)


def registration_refused(seconds: int) -> RateLimited:
    """The answer to an address over its registration budget."""
    return RateLimited(f"too many registrations; try again in {seconds} seconds",
                       retry_after=seconds)


def update_profile(uow: UnitOfWork, user_id: int, *, language: str | None = None,
                   currency: str | None = None) -> User:
    """Change a user's language (en, zh-CN) and/or home currency."""
    values: dict[str, str] = {}
    if language is not None:
        if language not in ("en", "zh-CN"):
            raise InvalidInput("language is en or zh-CN", field="language")
        values["language"] = language
    if currency is not None:
        values["currency"] = offered_currency(currency, uow.settings.currencies)
    if values:
        uow.conn.execute(update(users).where(users.c.id == user_id).values(**values))
        TOKENS.forget(user_id=user_id)
    return User.of(uow.conn.execute(select(users).where(users.c.id == user_id)).one())


def get_user(uow: UnitOfWork, user_id: int) -> User:
    """One login; UserNotFound when there is none."""
    row = uow.conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise UserNotFound(f"no login {user_id}")
    return User.of(row)


def login_names(uow: UnitOfWork, user_ids: Iterable[int | None]) -> dict[int, str]:
    """The e-mail (else the phone) of each of ``user_ids`` that exists."""
    wanted = {i for i in user_ids if i is not None}
    if not wanted:
        return {}
    rows = uow.conn.execute(select(users.c.id, users.c.email, users.c.phone)
                            .where(users.c.id.in_(wanted)))
    return {int(r.id): str(r.email or r.phone) for r in rows}


@dataclass(frozen=True)
class Login:
    """A login as the staff page lists it."""

    user: User
    disabled: bool
    created_at: datetime


def logins_with_roles(uow: UnitOfWork, roles: Iterable[str], limit: int = 500) -> list[Login]:
    """Logins with any of ``roles``, oldest first."""
    rows = uow.conn.execute(select(users).where(users.c.role.in_(list(roles)))
                            .order_by(users.c.id).limit(limit))
    return [Login(User.of(r), bool(r.disabled), r.created_at) for r in rows]


def set_disabled(uow: UnitOfWork, user_id: int, disabled: bool, *, actor_id: int | None,
                 reason: str) -> User:
    """Disable a login (its tokens and web sessions stop working at once: every lookup
    checks the flag) or enable it again; audited. Nobody disables their own login."""
    if actor_id == user_id and disabled:
        raise InvalidInput("you cannot disable your own login", field="user_id")
    user = get_user(uow, user_id)
    uow.conn.execute(update(users).where(users.c.id == user_id).values(disabled=disabled))
    TOKENS.forget(user_id=user_id)
    audit(uow, actor_id, "user.disable" if disabled else "user.enable", f"user:{user_id}",
          reason=reason, role=user.role)
    return user


def find_by_login(uow: UnitOfWork, login: str) -> Row | None:
    """The user row whose e-mail or phone is ``login`` in any spelling, or None."""
    text = canonical_login(login)
    column = users.c.email if "@" in text else users.c.phone
    if column is users.c.phone and not text.startswith("+"):
        return None
    return uow.conn.execute(select(users).where(column == text)).first()


def _password_ok(uow: UnitOfWork, row: Row | None, password: str) -> bool:
    if row is None or row.disabled:
        hasher(uow).hash(password)  # same cost whether or not the login exists
        return False
    try:
        return hasher(uow).verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(uow: UnitOfWork, login: str, password: str, ip: str | None) -> User | None:
    """The user if the password matches; None after recording a failure.

    Raises AccountLocked while a key backs off: the (address, account) pair, the address, or
    the account as a whole (the password is not even checked then, and the try is not
    counted). The account-wide back-off is skipped from an address where the right password was
    given in the last ``login_known_seconds``, so guesses from elsewhere cannot keep the owner
    out. Callers commit the unit of work before raising BadCredentials, so failures are counted.
    A success forgets only the pair's failures: it must not hand an attacker elsewhere a fresh
    allowance on the account, nor one on a shared address.
    """
    row = find_by_login(uow, login)
    account = limits.account_of(row, login)
    keys = limits.login_keys(uow.settings, account, ip)
    known = ip is not None and throttle.marked(uow, limits.known_key(account, ip))
    limits.ensure_open(uow, keys[1:] if known else keys)
    if not _password_ok(uow, row, password):
        limits.fail(uow, keys)
        return None
    assert row is not None
    if ip:
        throttle.clear(uow, keys[1][0])
        throttle.mark(uow, limits.known_key(account, ip), uow.settings.login_known_seconds)
    if hasher(uow).check_needs_rehash(row.password_hash):
        uow.conn.execute(update(users).where(users.c.id == row.id).values(
            password_hash=hasher(uow).hash(password)))
    return User.of(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(uow: UnitOfWork, user: User, kind: str = "api") -> str:
    """A new opaque token for ``user``; only its hash is stored.

    ``api`` tokens are bearer tokens for the REST API and live ``token_ttl_seconds``; ``web``
    tokens stand behind a portal session cookie, live no longer than the session may, and are
    accepted only where ``kind="web"`` is asked for (the portal applies its idle limit too).
    """
    ttl = (uow.settings.token_ttl_seconds if kind == "api"
           else uow.settings.web_session_max_seconds)
    token = secrets.token_urlsafe(32)
    uow.conn.execute(insert(auth_tokens).values(
        token_hash=_token_hash(token), user_id=user.id, created_at=uow.now,
        expires_at=uow.now + timedelta(seconds=ttl), kind=kind,
    ))
    return token


_BY_TOKEN = select(users, auth_tokens.c.expires_at).join(
    auth_tokens, auth_tokens.c.user_id == users.c.id).where(
    auth_tokens.c.token_hash == bindparam("hash"), auth_tokens.c.kind == bindparam("kind"),
    auth_tokens.c.expires_at > bindparam("now", type_=auth_tokens.c.expires_at.type),
    auth_tokens.c.revoked_at.is_(None), users.c.disabled.is_(False))


def user_for_token(uow: UnitOfWork, token: str, kind: str = "api") -> User:
    """The user a live token of ``kind`` belongs to; raises Unauthenticated otherwise.

    ``api`` tokens found here are remembered for ``auth_cache_seconds`` (token_cache.py)."""
    digest = _token_hash(token)
    if kind == "api":
        cached = TOKENS.get(digest, uow.now)
        if cached is not None:
            return cached
    row = uow.conn.execute(_BY_TOKEN, {"hash": digest, "kind": kind, "now": uow.now}).first()
    if row is None:
        raise Unauthenticated("the token is invalid or has expired")
    user = User.of(row)
    if kind == "api":
        expires = row.expires_at
        TOKENS.put(digest, user, expires, uow.settings.auth_cache_seconds)
    return user


def cached_user(token: str, now: datetime) -> User | None:
    """The user of an API token checked within the last ``auth_cache_seconds``, else None
    (then ``user_for_token`` reads the database)."""
    return TOKENS.get(_token_hash(token), now)


def revoke_token(uow: UnitOfWork, token: str) -> None:
    """Log out: the token stops working at once."""
    digest = _token_hash(token)
    TOKENS.forget(token_hash=digest)
    uow.conn.execute(update(auth_tokens).where(
        auth_tokens.c.token_hash == digest).values(revoked_at=uow.now))


__all__ = ["BadCredentials", "User", "authenticate", "register"]
