"""Plans and prices in the console: every plan (on sale or not), and a form to create a plan
or change one (names, allowance, validity, renewal, priority, on sale, prices per currency).
Fees and top-up limits are shown; they are set with the API or the CLI."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.catalog.errors import PlanNotOnSale
from topup.catalog.quotes import price
from topup.catalog.service import Plan, PlanSpec
from topup.catalog.tables import PLAN_KINDS, RENEW_ON, VALIDITY_STARTS
from topup.channels.admin.pages import page
from topup.channels.api.bounds import DbId
from topup.channels.portal.i18n import N_
from topup.channels.portal.rendering import GIB
from topup.channels.portal.web import Form, PortalRoute, Web, allowed, posted
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.money import Money

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
NUMBER = N_("Enter a whole number, 0 or more.")
CHANNEL = "admin"  # as the console names the orders it makes


@router.get("/admin/plans")
def plans(q: str = Query("", max_length=60), w: Web = Depends(allowed("catalog.read"))
          ) -> Response:
    """Every plan, on sale or not, with its list prices, what the price service quotes for
    each now (what a traveller is charged); and the fee rules."""
    with w.db.unit(readonly=True) as uow:
        found = catalog.list_plans(uow, q=q or None, include_inactive=True)
        fees = catalog.fee_rules_list(uow)
        quotes = {p.id: [price(uow, p, cur, uow.now, CHANNEL) for cur in sorted(p.prices)]
                  for p in found if _on_sale(p, uow.now)}
    return page(w, "admin/plans.html", "plans", plans=found, q=q, fees=fees, quotes=quotes)


def _on_sale(plan: Plan, at: datetime) -> bool:
    try:
        catalog.ensure_on_sale(plan, at)
    except PlanNotOnSale:
        return False
    return True


def _values(plan: Plan | None) -> dict[str, str]:
    if plan is None:
        return {"kind": "week", "validity_start": "purchase", "renew_on": "expiry",
                "priority": "100", "active": "on", "voice_minutes": "0", "sms_count": "0"}
    values = {name: str(getattr(plan, name)) for name in (
        "code", "name_en", "name_zh", "zone_code", "kind", "validity_days", "validity_start",
        "renew_on", "priority", "sms_count")}
    values["data_gb"] = str(Decimal(plan.data_bytes) / GIB)
    values["voice_minutes"] = str(plan.voice_seconds // 60)
    if plan.active:
        values["active"] = "on"
    for currency, amount in plan.prices.items():
        values[f"price_{currency}"] = Money(amount, currency).text()
    return values


def _form_page(w: Web, plan: Plan | None, form: Form, status: int = 200) -> Response:
    with w.db.unit(readonly=True) as uow:
        zones = catalog.list_zones(uow)
    currencies = sorted({k[6:] for k in form.values if k.startswith("price_")})
    return page(w, "admin/plan.html", "plans", status=status, plan=plan, form=form,
                zones=zones, currencies=currencies, plan_kinds_all=PLAN_KINDS,
                starts=VALIDITY_STARTS, renew_ons=RENEW_ON)


@router.get("/admin/plans/new")
def new_plan(w: Web = Depends(allowed("catalog.write"))) -> Response:
    """The form for a new plan."""
    return _form_page(w, None, Form(_values(None)))


@router.get("/admin/plans/{plan_id}")
def plan_page(plan_id: DbId, w: Web = Depends(allowed("catalog.read"))) -> Response:
    """One plan, as a form for those who may change it."""
    with w.db.unit(readonly=True) as uow:
        plan = catalog.get_plan(uow, plan_id)
    return _form_page(w, plan, Form(_values(plan)))


def _count(w: Web, form: Form, name: str, scale: int = 1) -> int:
    raw = form.get(name) or "0"
    if not raw.isdigit():
        form.fail(name, w.t.gettext(NUMBER))
        return 0
    return int(raw) * scale


def _data_bytes(w: Web, form: Form) -> int:
    try:
        gb = Decimal(form.get("data_gb") or "0")
        if not gb.is_finite() or gb < 0:
            raise InvalidOperation
    except InvalidOperation:
        form.fail("data_gb", w.t.gettext("Enter the data in GB, such as 1 or 0.5."))
        return 0
    return int(gb * GIB)


def _prices(w: Web, form: Form) -> dict[str, int]:
    prices: dict[str, int] = {}
    wanted = [(k[6:], k) for k in form.values if k.startswith("price_") and form.get(k)]
    if form.get("new_currency") or form.get("new_price"):
        wanted.append((form.get("new_currency").upper(), "new_price"))
    for currency, name in wanted:
        try:
            prices[currency] = Money.parse(form.get(name), currency).amount
        except TopupError:
            form.fail(name, w.t.gettext("Enter a price such as %(example)s.",
                                        example=Money(4900, "CNY").text()))
    if not prices and form.ok:
        form.fail("new_price", w.t.gettext("A plan needs a price in at least one currency."))
    return prices


def _spec(w: Web, form: Form, code: str) -> PlanSpec | None:
    values: dict[str, Any] = {
        "code": code, "name_en": form.get("name_en"), "name_zh": form.get("name_zh"),
        "zone_code": form.get("zone_code"), "kind": form.get("kind"),
        "validity_start": form.get("validity_start"), "renew_on": form.get("renew_on"),
        "data_bytes": _data_bytes(w, form),
        "voice_seconds": _count(w, form, "voice_minutes", 60),
        "sms_count": _count(w, form, "sms_count"),
        "validity_days": _count(w, form, "validity_days"),
        "priority": _count(w, form, "priority"), "active": form.checked("active"),
        "prices": _prices(w, form)}
    return PlanSpec(**values) if form.ok else None


@router.post("/admin/plans")
def save_plan(form: Form = Depends(posted), w: Web = Depends(allowed("catalog.write"))
              ) -> Response:
    """Create the plan, or change the one with this code; its prices are replaced."""
    existing = None
    plan_id = form.get("plan_id")
    if plan_id.isdigit():
        with w.db.unit(readonly=True) as uow:
            existing = catalog.get_plan(uow, int(plan_id))
    spec = _spec(w, form, existing.code if existing else form.get("code"))
    saved = None
    if spec is not None:
        try:
            def work(uow: UnitOfWork) -> catalog.Plan:
                saved = catalog.upsert_plan(uow, spec)
                audit(uow, w.me().id, "plan.upsert", f"plan:{saved.id}", code=saved.code,
                      prices=saved.prices, active=saved.active)
                return saved

            saved = w.db.transact(work, what="plan")
        except TopupError as exc:
            target = "zone_code" if exc.code == "unknown_zone" else {
                "name": "name_en", "prices": "new_price"}.get(str(exc.extra.get("field")), "code")
            form.refuse(w.t, exc, target)
    if saved is None:
        return _form_page(w, existing, form, 422)
    return w.redirect(f"/admin/plans/{saved.id}", notice="plan_saved")
