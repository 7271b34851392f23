"""Brute-force defence for PINs: throttles per line, session, account, IP and terminal.

A wrong PIN counts once against every key the attempt carries; any key that is backing off
refuses the next attempts of that key before the PIN is even looked at, so a locked answer says
nothing about the PIN. Lines, sessions and accounts wait after ``voucher_max_failures``;
addresses and terminals, which many honest people share (a shop's POS, a hotel's Wi-Fi), after
``voucher_max_failures_shared``. The first wait is ``voucher_lockout_seconds`` and doubles with
each further failure up to ``voucher_backoff_max_seconds``; counts last
``voucher_window_seconds``. The line key holds across every account that tries it, the account
key across every line. A key that starts waiting leaves an audit entry and, when
``TOPUP_ALERT_EMAIL`` is set, an e-mail to the operator.

The counters are the throttles of ``subscribers/throttle.py`` (in the database, never in process
memory, counted atomically), and a failure is recorded in a unit of work that commits before
the refusal is raised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from topup.audit.service import record as audit
from topup.db.uow import UnitOfWork
from topup.notifications.service import enqueue
from topup.subscribers import throttle
from topup.subscribers.throttle import Rule
from topup.vouchers.errors import RedemptionLocked

if TYPE_CHECKING:
    from topup.vouchers.redemption import RedeemContext

ALERT_TEMPLATE = "voucher_lockout"


@dataclass(frozen=True)
class Key:
    """One counter and the failures that lock it."""

    name: str
    max_failures: int

    def rule(self, uow: UnitOfWork) -> Rule:
        s = uow.settings
        return Rule(self.max_failures, s.voucher_window_seconds, s.voucher_lockout_seconds,
                    s.voucher_backoff_max_seconds)


def _short(value: str) -> str:
    """Session ids come from outside: long ones are hashed to keep the key bounded."""
    return value if len(value) <= 64 else hashlib.sha256(value.encode()).hexdigest()


def keys_for(uow: UnitOfWork, line_id: int, ctx: RedeemContext) -> list[Key]:
    """The counters one redemption attempt is charged to."""
    s = uow.settings
    keys = [Key(f"voucher:line:{line_id}", s.voucher_max_failures)]
    if ctx.session:
        keys.append(Key(f"voucher:session:{ctx.channel}:{_short(ctx.session)}",
                        s.voucher_max_failures))
    if ctx.ip:
        keys.append(Key(f"voucher:ip:{ctx.ip}", s.voucher_max_failures_shared))
    if ctx.terminal_id is not None:
        keys.append(Key(f"voucher:terminal:{ctx.terminal_id}", s.voucher_max_failures_shared))
    if ctx.actor_id is not None:  # agent staff redeem for many customers: a shared budget
        keys.append(Key(f"voucher:user:{ctx.actor_id}", s.voucher_max_failures_shared))
    return keys


def ensure_open(uow: UnitOfWork, keys: list[Key]) -> None:
    """Raise RedemptionLocked when any key waits; it never says which one."""
    wait = throttle.wait(uow, (key.name for key in keys))
    if wait:
        raise RedemptionLocked(f"too many wrong PINs; try again in {wait} seconds",
                               retry_after=wait)


def record_failure(uow: UnitOfWork, keys: list[Key], line_id: int, ctx: RedeemContext) -> None:
    """Count one wrong PIN against every key; alert for each key this failure made wait."""
    for key in keys:
        if throttle.hit(uow, key.name, key.rule(uow)) == key.max_failures:
            alert(uow, key.name, line_id, ctx)


def clear(uow: UnitOfWork, keys: list[Key]) -> None:
    """After a redemption, forget the failures of the line and the session.

    Shared keys (IP, terminal) are not cleared: one good card must not buy an attacker on the
    same address a fresh allowance of guesses.
    """
    for key in keys:
        if key.name.startswith(("voucher:line:", "voucher:session:")):
            throttle.clear(uow, key.name)


def alert(uow: UnitOfWork, key: str, line_id: int, ctx: RedeemContext) -> None:
    """A key just locked: an audit entry, and an e-mail to the operator's alert address."""
    details = {"channel": ctx.channel, "line_id": line_id, "ip": ctx.ip,
               "terminal_id": ctx.terminal_id,
               "locked_seconds": uow.settings.voucher_lockout_seconds}
    audit(uow, None, "voucher.lockout", key, reason="repeated wrong voucher PINs",
          user_id=ctx.actor_id, **details)
    if uow.settings.alert_email:  # params as the voucher_lockout template reads them
        enqueue(uow, "email", uow.settings.alert_email, ALERT_TEMPLATE, "en",
                {"key": key, "actor_id": ctx.actor_id, **details})


def count_check(uow: UnitOfWork, ip: str | None) -> int:
    """Charge one public serial check to the caller's address: 0 while within
    ``voucher_checks_per_ip`` per ``voucher_lockout_seconds``, else the seconds to wait (the
    caller commits, then raises RedemptionLocked)."""
    if not ip:
        return 0
    return throttle.spend(uow, f"voucher-check:ip:{ip}", Rule(
        uow.settings.voucher_checks_per_ip, uow.settings.voucher_lockout_seconds))
