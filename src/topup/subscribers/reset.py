"""Password reset by a one-time code sent by SMS or e-mail, throttled so it cannot be guessed
or used to flood someone with messages.

- Codes have ``CODE_DIGITS`` digits and live ``reset_code_ttl_seconds``; each takes at most
  ``reset_code_max_attempts`` wrong tries.
- Messages: at most ``reset_requests_per_account`` per account and ``reset_requests_per_ip``
  per address in a window; further requests get the same answer and send nothing.
- Wrong codes count per account across all its codes (a fresh code brings no fresh tries) and
  per address, with back-off (``limits.reset_keys``).
Nothing here says whether a login exists: unknown logins are counted like known ones.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy import insert, select, update

from topup.db.uow import UnitOfWork
from topup.notifications.service import enqueue
from topup.subscribers import limits, throttle
from topup.subscribers.auth import check_password, find_by_login, hasher
from topup.subscribers.errors import ResetCodeInvalid
from topup.subscribers.identity import canonical_login, keyed_hash
from topup.subscribers.tables import auth_tokens, reset_codes, users
from topup.subscribers.token_cache import TOKENS

CODE_DIGITS = 8  # 10^8 codes: with the per-account back-off, guessing one takes years


def request_reset(uow: UnitOfWork, login: str, ip: str | None = None) -> bool:
    """Send a code to the login's phone (SMS) or e-mail through the outbox; True if one went.

    Every request is counted against the account and the address, whether or not the login
    exists; over either budget nothing is sent. Callers answer the same either way.
    """
    row = find_by_login(uow, login)
    keys = limits.reset_request_keys(uow.settings, limits.account_of(row, login), ip)
    over = [throttle.spend(uow, name, rule) for name, rule in keys]
    if any(over) or row is None or row.disabled:
        return False
    by_mail = "@" in canonical_login(login)
    channel, recipient = ("email", row.email) if by_mail else ("sms", row.phone)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
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
    return True


def confirm_reset(uow: UnitOfWork, login: str, code: str, new_password: str,
                  ip: str | None = None) -> bool:
    """Set a new password if ``code`` is right; False after counting a wrong try.

    Raises AccountLocked (untested, uncounted) while the account or the address backs off.
    Every live token of the user is revoked on success, and the account's login and reset
    failures are forgotten: the owner proved they hold its phone or mailbox.
    """
    check_password(new_password)
    row = find_by_login(uow, login)
    account = limits.account_of(row, login)
    keys = limits.reset_keys(uow.settings, account, ip)
    limits.ensure_open(uow, keys)
    rc = None if row is None else uow.conn.execute(select(reset_codes).where(
        reset_codes.c.user_id == row.id, reset_codes.c.used_at.is_(None),
        reset_codes.c.expires_at > uow.now,
    ).order_by(reset_codes.c.id.desc())).first()
    given = keyed_hash(uow.settings.secret_key, "reset", code.strip())
    if rc is None or rc.attempts >= uow.settings.reset_code_max_attempts \
            or not secrets.compare_digest(rc.code_hash, given):
        if rc is not None:
            uow.conn.execute(update(reset_codes).where(reset_codes.c.id == rc.id).values(
                attempts=reset_codes.c.attempts + 1))
        limits.fail(uow, keys)
        return False
    assert row is not None
    uow.conn.execute(update(reset_codes).where(reset_codes.c.id == rc.id).values(used_at=uow.now))
    uow.conn.execute(update(users).where(users.c.id == row.id).values(
        password_hash=hasher(uow).hash(new_password)))
    uow.conn.execute(update(auth_tokens).where(
        auth_tokens.c.user_id == row.id, auth_tokens.c.revoked_at.is_(None)
    ).values(revoked_at=uow.now))
    TOKENS.forget(user_id=row.id)
    throttle.clear(uow, keys[0][0])
    throttle.clear(uow, limits.login_keys(uow.settings, account, None)[0][0])
    return True


def reset_refused() -> ResetCodeInvalid:
    """The one error every failed reset gets, so it teaches nothing."""
    return ResetCodeInvalid()
