"""The throttle keys and rules of logins, password resets, binding and registration.

Every guess is charged to the account it is about (a login, whatever its spelling, is keyed by
the user id, or by its one canonical spelling when there is no such user, so a 429 says nothing
about whether an account exists), to the caller's address, and where there is one to the target
(the line being bound). Keys per account and per target back off rather than lock: an attacker
can slow the owner down for at most the current back-off, never lock them out for good.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.engine import Row

from topup.config import Settings
from topup.db.uow import UnitOfWork
from topup.subscribers import throttle
from topup.subscribers.errors import AccountLocked
from topup.subscribers.identity import canonical_login
from topup.subscribers.throttle import Rule

Keys = list[tuple[str, Rule]]


def account_of(row: Row | None, login: str) -> str:
    """The account a login names: ``user:<id>`` when it exists, else its canonical text."""
    return f"user:{row.id}" if row is not None else f"login:{canonical_login(login)}"


def login_keys(s: Settings, account: str, ip: str | None) -> Keys:
    """Per account (all addresses), per (address, account) pair, and per address."""
    keys = [(throttle.key("login:account", account), Rule(
        s.login_account_max_failures, s.login_window_seconds, s.login_backoff_seconds,
        s.login_lockout_seconds))]
    if ip:
        keys.append((throttle.key("login:pair", ip, account), Rule(
            s.login_max_failures, s.login_window_seconds, s.login_backoff_seconds,
            s.login_lockout_seconds)))
        keys.append((throttle.key("login:ip", ip), Rule(
            s.login_ip_max_failures, s.login_window_seconds, s.login_backoff_seconds,
            s.login_lockout_seconds)))
    return keys


def known_key(account: str, ip: str) -> str:
    """The marker of an address where the account's right password was given."""
    return throttle.key("login:known", ip, account)


def reset_request_keys(s: Settings, account: str, ip: str | None) -> Keys:
    """Budgets of reset messages per account and per address."""
    keys = [(throttle.key("reset-request:account", account),
             Rule(s.reset_requests_per_account, s.reset_request_window_seconds))]
    if ip:
        keys.append((throttle.key("reset-request:ip", ip),
                     Rule(s.reset_requests_per_ip, s.reset_request_window_seconds)))
    return keys


def reset_keys(s: Settings, account: str, ip: str | None) -> Keys:
    """Wrong reset codes per account (across all its codes) and per address."""
    keys = [(throttle.key("reset:account", account), Rule(
        s.reset_max_failures, s.reset_window_seconds, s.reset_backoff_seconds,
        s.reset_backoff_max_seconds))]
    if ip:
        keys.append((throttle.key("reset:ip", ip), Rule(
            s.reset_ip_max_failures, s.reset_window_seconds, s.reset_backoff_seconds,
            s.reset_backoff_max_seconds)))
    return keys


def bind_keys(s: Settings, customer_id: int, target: str | None, ip: str | None) -> Keys:
    """Wrong card secrets per account, per target line (across all accounts), per address."""
    def rule(free: int) -> Rule:
        return Rule(free, s.bind_window_seconds, s.bind_backoff_seconds,
                    s.bind_backoff_max_seconds)
    keys = [(throttle.key("bind:account", customer_id), rule(s.bind_max_failures))]
    if target:
        keys.append((throttle.key("bind:target", target), rule(s.bind_line_max_failures)))
    if ip:
        keys.append((throttle.key("bind:ip", ip), rule(s.bind_ip_max_failures)))
    return keys


def register_key(s: Settings, ip: str) -> tuple[str, Rule]:
    """The budget of registration attempts of one address."""
    return throttle.key("register:ip", ip), Rule(s.register_per_ip, s.register_window_seconds)


def ensure_open(uow: UnitOfWork, keys: Sequence[tuple[str, Rule]]) -> None:
    """Raise AccountLocked while any key waits; the try is refused untested and uncounted."""
    seconds = throttle.wait(uow, (name for name, _ in keys))
    if seconds:
        raise AccountLocked(f"too many failed attempts; try again in {seconds} seconds",
                            retry_after=seconds)


def fail(uow: UnitOfWork, keys: Sequence[tuple[str, Rule]]) -> None:
    """Count one failure against every key."""
    for name, rule in keys:
        throttle.hit(uow, name, rule)
