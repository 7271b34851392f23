"""The eSIM store in the portal: "where are you going?", the plans sold as a new eSIM there
(and adding data to an eSIM the traveller holds), and buying one, signed in or as a guest
whose e-mail address becomes an account (signed in at once, so the order page is theirs)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import RedirectResponse

from topup.catalog import service as catalog
from topup.catalog.quotes import price
from topup.channels.api.bounds import DbId
from topup.channels.portal import sessions
from topup.channels.portal.payment import method_choices
from topup.channels.portal.plans import _zones
from topup.channels.portal.web import Form, PortalRoute, Web, posted, web
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.esim import store
from topup.orders.idempotency import run_once
from topup.subscribers import auth
from topup.subscribers import lines as line_svc

router = APIRouter(route_class=PortalRoute, include_in_schema=False)


def _currency(w: Web, wanted: str) -> str:
    offered = w.db.settings.currencies
    wanted = wanted.strip().upper()
    if wanted in offered:
        return wanted
    mine = w.user.currency if w.user else w.db.settings.default_currency
    return mine if mine in offered else offered[0]


@router.get("/store")
def store_page(country: str = "", currency: str = "", w: Web = Depends(web)) -> Response:
    """Where are you going? Then the plans sold as a new eSIM for that country, in the
    visitor's currency, and the eSIMs the traveller already holds that can take more data."""
    code = country.strip().upper()[:2]
    cur = _currency(w, currency)
    countries, _ = _zones(w)
    offers: list[store.Offer] = []
    held: list[line_svc.Line] = []
    if code:
        with w.db.unit(readonly=True) as uow:
            offers = store.offers(uow, code, cur, w.request.app.state.esim_supplier)
            if w.user is not None:
                held = [x for x in line_svc.lines_of(uow, w.user.id) if x.kind == "esim"]
    name = next((c["name"] for c in countries if c["code"] == code), code)
    return w.page("store.html", countries=countries, country=code, country_name=name,
                  currency=cur, currencies=w.db.settings.currencies, offers=offers, held=held)


def _buy_page(w: Web, plan_id: int, currency: str, form: Form, status: int = 200
              ) -> Response:
    shown = None
    with w.db.unit(readonly=True) as uow:
        plan = catalog.get_plan(uow, plan_id)
        try:
            quoted = price(uow, plan, currency, uow.now, store.CHANNEL,
                           customer=w.user.id if w.user else None)
            shown = quoted.money(quoted.total)
        except TopupError as exc:
            form.refuse(w.t, exc)
    form.key("order_key")
    return w.page("store_buy.html", status=status, plan=plan, price=shown, currency=currency,
                  methods=method_choices(w, "topup", currency), form=form)


@router.get("/store/plans/{plan_id}")
def buy_page(plan_id: DbId, currency: str = "", w: Web = Depends(web)) -> Response:
    """One plan as a new eSIM: what it gives, its price, how to pay, and (for a guest) the
    e-mail address the eSIM is sent to."""
    cur = _currency(w, currency)
    methods = method_choices(w, "topup", cur)
    return _buy_page(w, plan_id, cur, Form({"method": methods[0][0] if methods else ""}))


@router.post("/store/plans/{plan_id}")
def buy(plan_id: DbId, form: Form = Depends(posted), w: Web = Depends(web)) -> Response:
    """Reserve an eSIM and order it (once per page: ``order_key``), then pay."""
    cur = _currency(w, form.get("currency"))
    method = form.get("method")
    if method not in {name for name, _ in method_choices(w, "topup", cur)}:
        form.fail("method", w.t.gettext("Choose a payment method."))
    if w.user is None and "@" not in form.get("email"):
        form.fail("email", w.t.gettext("Enter the e-mail address the eSIM is sent to."))
    if not form.ok:
        return _buy_page(w, plan_id, cur, form, 422)
    provider = w.request.app.state.payment_providers[method]
    new_session = None
    try:
        buyer = w.user.id if w.user else None
        if buyer is None:
            def account(uow: UnitOfWork) -> tuple[int, str]:
                made, _ = store.buyer_for(uow, None, form.get("email"), w.t.lang, cur)
                return made, sessions.start(uow, auth.get_user(uow, made))

            buyer, new_session = w.db.transact(account, what="guest account")

        def work(uow: Any) -> tuple[int, Any]:
            made = store.buy(uow, buyer=buyer, plan_id=plan_id, currency=cur,
                             provider=provider, supplier=w.request.app.state.esim_supplier)
            return 201, {"order_id": made.order.id, "next_action": made.order.next_action}

        outcome = run_once(w.db, buyer, form.get("order_key"), "POST", "/portal/store",
                           {"plan_id": plan_id, "currency": cur, "method": method}, work)
    except TopupError as exc:
        form.refuse(w.t, exc, "email" if exc.code == "account_exists" else "")
        response = _buy_page(w, plan_id, cur, form, exc.status)
    else:
        action = outcome.body.get("next_action") or {}
        target = str(action["value"]) if action.get("kind") == "redirect" and \
            action.get("value") else f"/orders/{outcome.body['order_id']}"
        response = RedirectResponse(target, status_code=303)
    if new_session is not None:  # the new account is signed in, even if the order failed
        sessions.set_cookie(response, w.db, w.request, new_session)
    return response

