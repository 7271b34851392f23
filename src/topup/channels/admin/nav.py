"""The console's sections, each shown to the staff roles that may use it."""

from __future__ import annotations

from dataclasses import dataclass

from topup.channels.portal.i18n import N_
from topup.subscribers import staff


@dataclass(frozen=True)
class Section:
    """One entry of the console's own menu."""

    href: str
    label: str  # an N_() msgid
    action: str  # the permission (subscribers.staff) the section needs
    key: str


SECTIONS = (
    Section("/admin", N_("Dashboard"), "dashboard.read", "dashboard"),
    Section("/admin/lines", N_("Lines"), "lines.read", "lines"),
    Section("/admin/tickets", N_("Support tickets"), "tickets.read", "tickets"),
    Section("/admin/plans", N_("Plans and prices"), "catalog.read", "plans"),
    Section("/admin/esim", N_("eSIM stock"), "catalog.read", "esim"),
    Section("/admin/vouchers", N_("Voucher batches"), "vouchers.read", "vouchers"),
    Section("/admin/agents", N_("Agents"), "agents.read", "agents"),
    Section("/admin/campaigns", N_("Promotions"), "promotions.read", "campaigns"),
    Section("/admin/bank", N_("Bank review"), "bank.review", "bank"),
    Section("/admin/refunds", N_("Refunds"), "refunds.write", "refunds"),
    Section("/admin/help", N_("Help centre"), "help.write", "help"),
    Section("/admin/staff", N_("Staff"), "staff.manage", "staff"),
    Section("/admin/audit", N_("Audit log"), "audit.read", "audit"),
)


def sections_for(role: str | None) -> list[Section]:
    """The sections ``role`` may open."""
    return [s for s in SECTIONS if staff.may(role, s.action)]
