"""Registration, login with lockout, bearer tokens, and password reset by one-time code.

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
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.money import offered_currency
from topup.notifications.service import enqueue
from topup.subscribers import attempts
from topup.subscribers.errors import (
    BadCredentials,
    EmailTaken,
    PhoneTaken,
    ResetCodeInvalid,
    Unauthenticated,
    UserNotFound,
)
from topup.subscribers.identity import keyed_hash, normalise_email, normalise_phone
from topup.subscribers.tables import ROLES, auth_tokens, reset_codes, users

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


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 256:
        raise InvalidInput(f"a password has {MIN_PASSWORD} to 256 characters", field="password")


def register(
    uow: UnitOfWork, *, email: str | None, phone: str | None, password: str,
    role: str = "customer", language: str = "en", currency: str | None = None,
) -> User:
    """Create a user; e-mail and/or phone (E.164) are the logins. Raises EmailTaken/PhoneTaken."""
    if not email and not phone:
        raise InvalidInput("give an e-mail address or a phone number", field="email")
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}", field="role")
    if language not in ("en", "zh-CN"):
        raise InvalidInput("language is en or zh-CN", field="language")
    _check_password(password)
    mail = normalise_email(email) if email else None
    tel = normalise_phone(phone) if phone else None
    cur = offered_currency(currency or uow.settings.default_currency, uow.settings.currencies)
    if mail and uow.conn.execute(select(users.c.id).where(users.c.email == mail)).first():
        raise EmailTaken()
    if tel and uow.conn.execute(select(users.c.id).where(users.c.phone == tel)).first():
        raise PhoneTaken()
    new_id = uow.conn.execute(insert(users).values(
        email=mail, phone=tel, password_hash=hasher(uow).hash(password), role=role,
        language=language, currency=cur, disabled=False, created_at=uow.now,
    ).returning(users.c.id)).scalar_one()
    return User(int(new_id), mail, tel, role, language, cur)


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
    audit(uow, actor_id, "user.disable" if disabled else "user.enable", f"user:{user_id}",
          reason=reason, role=user.role)
    return user


def find_by_login(uow: UnitOfWork, login: str) -> Row | None:
    """The user row whose e-mail or phone is ``login``, or None."""
    login = login.strip()
    if "@" in login:
        cond = users.c.email == login.lower()
    else:
        try:
            cond = users.c.phone == normalise_phone(login)
        except InvalidInput:
            return None
    return uow.conn.execute(select(users).where(cond)).first()


def authenticate(uow: UnitOfWork, login: str, password: str, ip: str | None) -> User | None:
    """The user if the password matches; None after recording a failure.

    Raises AccountLocked while the login (or the client address) is locked. Callers commit the
    unit of work before raising BadCredentials, so failures are counted.
    """
    s = uow.settings
    keys = [f"login:{login.strip().lower()}"] + ([f"login-ip:{ip}"] if ip else [])
    for key in keys:
        attempts.ensure_open(uow, key)
    row = find_by_login(uow, login)
    ok = False
    if row is not None and not row.disabled:
        try:
            ok = hasher(uow).verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            ok = False
    else:
        hasher(uow).hash(password)  # same cost whether or not the login exists
    if not ok:
        attempts.fail(uow, keys[0], s.login_max_failures, s.login_lockout_seconds)
        if ip:
            attempts.fail(uow, keys[1], s.login_max_failures * 10, s.login_lockout_seconds)
        return None
    attempts.clear(uow, keys[0])
    assert row is not None
    if hasher(uow).check_needs_rehash(row.password_hash):
        uow.conn.execute(update(users).where(users.c.id == row.id).values(
            password_hash=hasher(uow).hash(password)))
    return User.of(row)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(uow: UnitOfWork, user: User) -> str:
    """A new opaque bearer token for ``user``; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    uow.conn.execute(insert(auth_tokens).values(
        token_hash=_token_hash(token), user_id=user.id, created_at=uow.now,
        expires_at=uow.now + timedelta(seconds=uow.settings.token_ttl_seconds),
    ))
    return token


def user_for_token(uow: UnitOfWork, token: str) -> User:
    """The user a live token belongs to; raises Unauthenticated otherwise."""
    row = uow.conn.execute(
        select(users).join(auth_tokens, auth_tokens.c.user_id == users.c.id).where(
            auth_tokens.c.token_hash == _token_hash(token),
            auth_tokens.c.expires_at > uow.now,
            auth_tokens.c.revoked_at.is_(None),
            users.c.disabled.is_(False),
        )
    ).first()
    if row is None:
        raise Unauthenticated("the token is invalid or has expired")
    return User.of(row)


def revoke_token(uow: UnitOfWork, token: str) -> None:
    """Log out: the token stops working at once."""
    uow.conn.execute(update(auth_tokens).where(
        auth_tokens.c.token_hash == _token_hash(token)).values(revoked_at=uow.now))


def request_reset(uow: UnitOfWork, login: str) -> None:
    """Send a 6-digit code to the login's phone (SMS) or e-mail through the outbox.

    Says nothing about whether the login exists: an unknown login sends nothing.
    """
    row = find_by_login(uow, login)
    if row is None or row.disabled:
        return
    channel, recipient = ("email", row.email) if "@" in login else ("sms", row.phone)
    code = f"{secrets.randbelow(10**6):06d}"
    uow.conn.execute(update(reset_codes).where(
        reset_codes.c.user_id == row.id, reset_codes.c.used_at.is_(None)).values(used_at=uow.now))
    uow.conn.execute(insert(reset_codes).values(
        user_id=row.id, code_hash=keyed_hash(uow.settings.secret_key, "reset", code),
        channel=channel, attempts=0, created_at=uow.now,
        expires_at=uow.now + timedelta(seconds=uow.settings.reset_code_ttl_seconds),
    ))
    minutes = uow.settings.reset_code_ttl_seconds // 60
    enqueue(uow, channel, recipient, "password_reset", row.language,
            {"code": code, "minutes": minutes})


def confirm_reset(uow: UnitOfWork, login: str, code: str, new_password: str) -> bool:
    """Set a new password if ``code`` is right; False after counting a wrong try.

    Every live token of the user is revoked on success.
    """
    _check_password(new_password)
    row = find_by_login(uow, login)
    if row is None:
        return False
    rc = uow.conn.execute(select(reset_codes).where(
        reset_codes.c.user_id == row.id, reset_codes.c.used_at.is_(None),
        reset_codes.c.expires_at > uow.now,
    ).order_by(reset_codes.c.id.desc())).first()
    if rc is None or rc.attempts >= uow.settings.reset_code_max_attempts:
        return False
    good = secrets.compare_digest(rc.code_hash, keyed_hash(uow.settings.secret_key, "reset",
                                                            code.strip()))
    if not good:
        uow.conn.execute(update(reset_codes).where(reset_codes.c.id == rc.id).values(
            attempts=reset_codes.c.attempts + 1))
        return False
    uow.conn.execute(update(reset_codes).where(reset_codes.c.id == rc.id).values(used_at=uow.now))
    uow.conn.execute(update(users).where(users.c.id == row.id).values(
        password_hash=hasher(uow).hash(new_password)))
    uow.conn.execute(update(auth_tokens).where(
        auth_tokens.c.user_id == row.id, auth_tokens.c.revoked_at.is_(None)
    ).values(revoked_at=uow.now))
    attempts.clear(uow, f"login:{login.strip().lower()}")
    return True


def reset_refused() -> ResetCodeInvalid:
    """The one error every failed reset gets, so it teaches nothing."""
    return ResetCodeInvalid()


__all__ = ["BadCredentials", "User", "authenticate", "register"]
