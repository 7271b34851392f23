"""Every page of the point of sale in one router, with its menu entry and its templates."""

from __future__ import annotations

from fastapi import APIRouter

from topup.channels.portal.i18n import N_
from topup.channels.portal.rendering import MenuItem, add_menu_item, add_templates
from topup.channels.pos import home, receipts, statement, topup, vouchers

add_templates("topup.channels.pos")
add_menu_item(MenuItem("/pos", N_("Point of sale"), frozenset({"agent"}), "pos"))

router = APIRouter(include_in_schema=False)
for module in (home, topup, vouchers, receipts, statement):
    router.include_router(module.router)
