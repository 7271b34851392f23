"""Topping up a line (preset or own amount, within the region's limits), and the order
summary that submits it — once, however often the button is pressed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.catalog import service as catalog
from topup.channels.api.bounds import DbId
from topup.channels.portal.payment import (
    keeps_cards,
    method_choices,
    method_label,
    saved_cards,
)
from topup.channels.portal.views import owned_line
from topup.channels.portal.web import Form, PortalRoute, Web, posted, signed_in
from topup.errors import TopupError
from topup.money import Money
from topup.orders import service as orders
from topup.orders.idempotency import run_once
from topup.orders.model import OrderRequest
from topup.promotions import points as loyalty
from topup.promotions.errors import PromotionError
from topup.subscribers import groups
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
CHANNEL = "web"


def _options(w: Web, line: Line) -> dict[str, Any]:
    with w.db.unit(readonly=True) as uow:
        presets = catalog.presets(uow, line.currency)
        limit = catalog.topup_limit(uow, line.home_country, line.currency)
    return {"presets": [Money(a, line.currency) for a in presets],
            "low": Money(limit[0], line.currency), "high": Money(limit[1], line.currency),
            "methods": method_choices(w, "topup", line.currency)}


def _topup_page(w: Web, line: Line, form: Form, status: int = 200) -> Response:
    return w.page("topup.html", status=status, line=line, form=form, **_options(w, line))


@router.get("/lines/{line_id}/topup")
def topup_page(line_id: DbId, w: Web = Depends(signed_in)) -> Response:
    """Preset amounts, an own amount, the limits, and the ways to pay."""
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
    methods = method_choices(w, "topup", line.currency)
    return _topup_page(w, line, Form({"method": methods[0][0] if methods else ""}))


def _amount(w: Web, line: Line, form: Form) -> int | None:
    chosen = form.get("amount")
    if chosen == "custom" or (not chosen and form.get("custom_amount")):
        text = form.get("custom_amount")
        if not text:
            form.fail("custom_amount", w.t.gettext("Enter an amount."))
            return None
        try:
            return Money.parse(text, line.currency).amount
        except TopupError:
            form.fail("custom_amount", w.t.gettext("Enter an amount such as %(example)s.",
                                                   example=Money(10000, line.currency).text()))
            return None
    if not chosen.isdigit():
        form.fail("amount", w.t.gettext("Choose an amount."))
        return None
    return int(chosen)


@router.post("/lines/{line_id}/topup")
def choose_topup(line_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
                 ) -> Response:
    """Check the amount against the limits, then show the order summary."""
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
    amount = _amount(w, line, form)
    method = form.get("method")
    if method not in {name for name, _ in method_choices(w, "topup", line.currency)}:
        form.fail("method", w.t.gettext("Choose a payment method."))
    if form.ok and amount is not None:
        try:
            with w.db.unit(readonly=True) as uow:
                orders.quote(uow, line, OrderRequest(kind="topup", method=method,
                                                     channel=CHANNEL, amount=amount),
                             provider=w.request.app.state.payment_providers.get(method))
        except TopupError as exc:  # a refusal about the line itself belongs to the form
            field = "" if exc.code == "line_not_usable" else (
                "custom_amount" if form.get("amount") == "custom" else "amount")
            form.refuse(w.t, exc, field)
    if not form.ok or amount is None:
        return _topup_page(w, line, form, 422)
    return w.redirect(f"/lines/{line.id}/checkout", kind="topup", amount=str(amount),
                      method=method)


def _request(values: dict[str, str], confirm: bool = False, lang: str = "en",
             save: bool = False) -> OrderRequest:
    kind = values.get("kind", "")
    number = values.get("amount" if kind == "topup" else "plan_id", "")
    value = int(number) if number.isdigit() else None
    group = values.get("group", "")  # a plan for the group the line is in
    code = values.get("code", "").strip()[:40] or None  # a promo code
    wanted = values.get("points", "")  # loyalty points to spend
    spend = int(wanted) if wanted.isdigit() and len(wanted) < 10 else 0
    return OrderRequest(kind=kind, method=values.get("method", ""), channel=CHANNEL, code=code,
                        points=spend,
                        amount=value if kind == "topup" else None,
                        plan_id=value if kind == "plan" else None, confirm_duplicate=confirm,
                        language=lang, save_method=save,
                        group_id=int(group) if group.isdigit() and len(group) < 19 else None)


def _summary(w: Web, line: Line, req: OrderRequest, form: Form, status: int = 200
             ) -> Response:
    provider = w.request.app.state.payment_providers.get(req.method)
    with w.db.unit(readonly=True) as uow:
        try:
            quote = orders.quote(uow, line, req, provider=provider)
        except PromotionError as exc:  # the summary without the code, the reason beside it
            form.refuse(w.t, exc, "code")
            form.values["code"] = ""
            req = replace(req, code=None)
            quote = orders.quote(uow, line, req, provider=provider)
            status = 422
        if req.code:  # as the quote spells it
            req = replace(req, code=quote.price.code)
            form.values["code"] = quote.price.code or ""
        plan = catalog.get_plan(uow, req.plan_id) if req.plan_id else None
        group = groups.get_group(uow, req.group_id, owner=w.me().id) if req.group_id else None
        mine = loyalty.standing(uow, w.me().id)
    form.key("order_key")
    return w.page("checkout.html", status=status, line=line, req=req, quote=quote, plan=plan,
                  points=mine,
                  group=group, method_name=method_label(w.t.lang, req.method), form=form,
                  duplicate=form.errors.get("confirm_duplicate") is not None,
                  keeps_cards=keeps_cards(w, req.method), cards=saved_cards(w, req.method))


@router.get("/lines/{line_id}/checkout")
def checkout(line_id: DbId, kind: str = "", amount: str = "", plan_id: str = "",
             method: str = "", group: str = "", code: str = "", points: str = "",
             w: Web = Depends(signed_in)) -> Response:
    """The order summary: what, for which line (or group), each discount, the fee and the
    total, before submitting; ``code`` applies a promo code (a refused one is shown why)."""
    values = {"kind": kind, "amount": amount, "plan_id": plan_id, "method": method,
              "group": group, "code": code.strip()[:40], "points": points[:10]}
    with w.db.unit(readonly=True) as uow:
        line = owned_line(uow, w.me(), line_id)
    return _summary(w, line, _request(values), Form(values))


@router.post("/lines/{line_id}/checkout")
def submit(line_id: DbId, form: Form = Depends(posted), w: Web = Depends(signed_in)
           ) -> Response:
    """Create the order (once per summary page: its ``order_key`` is the idempotency key),
    then go to the provider's page or to the order's status page."""
    user = w.me()
    save = form.checked("save_card") and keeps_cards(w, form.get("method"))
    req = _request(form.values, form.checked("confirm_duplicate"), w.t.lang, save)
    providers = w.request.app.state.payment_providers
    body = {"line_id": line_id, "kind": req.kind, "amount": req.amount, "plan_id": req.plan_id,
            "method": req.method, "confirm_duplicate": req.confirm_duplicate,
            "save_card": save, "code": req.code, "points": req.points}
    if req.group_id is not None:
        body["group_id"] = req.group_id

    def work(uow: Any) -> tuple[int, Any]:
        line = owned_line(uow, user, line_id)
        order = orders.create_order(uow, user.id, line, req, provider=providers.get(req.method))
        return 201, {"order_id": order.id, "next_action": order.next_action}

    try:
        # paid from the wallet: database writes only; a provider's payment is not started twice
        outcome = run_once(w.db, user.id, form.get("order_key"), "POST", "/portal/orders",
                           body, work, retry=providers.get(req.method) is None)
    except TopupError as exc:
        with w.db.unit(readonly=True) as uow:
            line = owned_line(uow, user, line_id)
        form.refuse(w.t, exc, "confirm_duplicate" if exc.code == "duplicate_suspected" else "")
        return _summary(w, line, req, form, exc.status)
    action = outcome.body.get("next_action") or {}
    if action.get("kind") == "redirect" and action.get("value"):
        return w.redirect(str(action["value"]))
    return w.redirect(f"/orders/{outcome.body['order_id']}")
