"""What each staff role may do: one table that the admin API and the admin console both ask.

Staff roles are ``admin`` (everything), ``support`` (find a line, freeze or unfreeze it, send a
notification again, edit the help centre, work the ticket queue) and ``finance`` (money:
manual credits, refunds, the bank review queue, voucher batches and agent floats). Every
staff role may read what it needs to do its part: lines, the dashboard, plans, batches and
agents. Only admins manage the catalogue, agents and terminals, logins and the audit log.
"""

from __future__ import annotations

from topup.errors import Forbidden

STAFF_ROLES = ("admin", "support", "finance")
_ALL = frozenset(STAFF_ROLES)
_ADMIN = frozenset({"admin"})
_SUPPORT = frozenset({"admin", "support"})
_FINANCE = frozenset({"admin", "finance"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.read": _ALL,
    "lines.read": _ALL,
    "lines.create": _ADMIN,
    "lines.freeze": _SUPPORT,
    "lines.credit": _FINANCE,
    "notifications.resend": _SUPPORT,
    "catalog.read": _ALL,
    "catalog.write": _ADMIN,
    "vouchers.read": _ALL,
    "vouchers.write": _FINANCE,
    "agents.read": _ALL,
    "agents.write": _ADMIN,
    "agents.fund": _FINANCE,
    "promotions.read": _ALL,
    "promotions.write": _ADMIN,
    "bank.review": _FINANCE,
    "refunds.write": _FINANCE,
    "orders.read": _ALL,
    "help.write": _SUPPORT,
    "tickets.read": _SUPPORT,
    "tickets.write": _SUPPORT,
    "audit.read": _ADMIN,
    "staff.manage": _ADMIN,
}


def roles_for(action: str) -> frozenset[str]:
    """The roles allowed ``action`` (a key of PERMISSIONS; a typo is a programming error)."""
    return PERMISSIONS[action]


def may(role: str | None, action: str) -> bool:
    """Whether a user with ``role`` may do ``action``."""
    return role in roles_for(action)


def is_staff(role: str | None) -> bool:
    """Whether ``role`` is one of the operator's staff roles."""
    return role in _ALL


def ensure(role: str | None, action: str) -> None:
    """Refuse (403) unless ``role`` may do ``action``."""
    if not may(role, action):
        raise Forbidden(f"this needs the role {' or '.join(sorted(roles_for(action)))}")
