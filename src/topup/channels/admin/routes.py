"""Every page of the console in one router, with its menu entry and its templates."""

from __future__ import annotations

from fastapi import APIRouter

from topup.channels.admin import (
    agents,
    bank,
    campaigns,
    dashboard,
    esim,
    help_articles,
    lines,
    plans,
    refunds,
    staff,
    tickets,
    vouchers,
)
from topup.channels.portal.i18n import N_
from topup.channels.portal.rendering import MenuItem, add_menu_item, add_templates
from topup.subscribers.staff import STAFF_ROLES

add_templates("topup.channels.admin")
add_menu_item(MenuItem("/admin", N_("Console"), frozenset(STAFF_ROLES), "admin"))

router = APIRouter(include_in_schema=False)
for module in (dashboard, lines, plans, esim, staff, vouchers, agents, campaigns, bank,
               refunds, help_articles, tickets):
    router.include_router(module.router)
