"""Topping up a line at the counter: the number and the amount, then a confirmation that
shows the line (masked), its state, the commission earned and, where a rule asks for it, the
buyer's ID; the confirmation sells once, however often it is sent, and leads to the receipt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Response

from topup.agents import agents as agent_svc
from topup.agents import kyc
from topup.agents.agents import Agent
from topup.agents.commission import commission_of, rate_for
from topup.agents.floats import float_balance
from topup.agents.topups import Seller, find_target, sell_topup
from topup.channels.portal.web import Form, PortalRoute, Web, posted
from topup.channels.pos.pages import caller, low_float, masked, page, refuse, seller
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.money import Money
from topup.orders import service as orders
from topup.orders.idempotency import run_once
from topup.orders.model import OrderRequest
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

router = APIRouter(route_class=PortalRoute, include_in_schema=False)
# Which field of the first step a refusal is about (the rest concern the whole form).
FIELD_OF = {"line_not_found": "number", "line_not_usable": "number", "invalid_msisdn": "number",
            "invalid_iccid": "number", "topup_out_of_limits": "amount",
            "float_insufficient": "amount", "invalid_amount": "amount", "invalid_order": "amount",
            "currency_mismatch": "amount"}
KYC_CODES = ("kyc_required", "invalid_kyc")


@dataclass(frozen=True)
class Checked:
    """A top-up the seller may confirm: everything the confirmation shows."""

    agent: Agent
    line: Line
    number: str  # the normalised MSISDN or ICCID typed
    amount: Money  # in the float's currency
    credit: Money | None  # what the wallet receives, when its currency differs
    commission: Money
    balance: Money  # the float before the sale
    kyc_country: str | None

    @property
    def balance_after(self) -> Money:
        return self.balance - self.amount + self.commission


def _line(w: Web, uow: UnitOfWork, form: Form, agent: Agent) -> Line | None:
    raw = form.get("number")
    if not raw:
        form.fail("number", w.t.gettext("Enter the line's phone number or ICCID."))
        return None
    try:
        return line_svc.find_line(uow, find_target(raw))
    except TopupError as exc:
        refuse(w, form, exc, agent.currency, "number")
        return None


def _quote(w: Web, uow: UnitOfWork, form: Form, agent: Agent, line: Line, amount: Money
           ) -> Checked | None:
    converts = line.currency != agent.currency
    req = OrderRequest(kind="topup", method="agent", channel="pos", currency=agent.currency,
                       amount=amount.amount, credit_currency=line.currency if converts else None)
    try:
        agent_svc.ensure_active(uow, agent)
        quote = orders.quote(uow, line, req, prepaid=True)
    except TopupError as exc:
        refuse(w, form, exc, agent.currency, FIELD_OF.get(exc.code, ""))
        return None
    balance = float_balance(uow, agent)
    if balance.amount < amount.amount:
        form.fail("amount", low_float(w, balance, amount))
        return None
    earned = commission_of(amount.amount, rate_for(uow, agent, "topup"))
    # the amount shown is the price service's total (a float pays no fee: the same number)
    return Checked(agent, line, find_target(form.get("number")), quote.total, quote.credit,
                   Money(earned, agent.currency), balance, kyc.required_by(uow, agent, line))


def check(w: Web, form: Form) -> Checked | None:
    """The number and amount of ``form`` checked as the sale will check them (the line, its
    state, the limits, the float); None with the errors on the form otherwise."""
    def work(uow: UnitOfWork) -> Checked | None:  # may open the float account on first use
        agent = caller(uow, w)
        amount = _amount(w, form, agent)
        line = _line(w, uow, form, agent)
        if line is None or amount is None:
            return None
        return _quote(w, uow, form, agent, line, amount)

    return w.db.transact(work, what="sale check")


def _amount(w: Web, form: Form, agent: Agent) -> Money | None:
    try:
        amount = Money.parse(form.get("amount"), agent.currency)
    except TopupError:
        amount = Money(0, agent.currency)
    if amount.amount <= 0:
        form.fail("amount", w.t.gettext("Enter an amount such as %(example)s.",
                                        example=Money(5000, agent.currency).text()))
        return None
    return amount


def form_page(w: Web, form: Form, status: int = 200) -> Response:
    """The first step: the line's number and the amount."""
    with w.db.unit(readonly=True) as uow:
        agent = caller(uow, w)
    return page(w, "pos/topup.html", "topup", status=status, form=form, agent=agent,
                example=Money(5000, agent.currency).text())


def confirm_page(w: Web, checked: Checked, form: Form, status: int = 200) -> Response:
    """The second step: what will be sold, and the buyer's ID where needed."""
    form.key("sale_key")
    return page(w, "pos/confirm.html", "topup", status=status, form=form, c=checked,
                shown=masked(checked.line))


@router.get("/pos/topup")
def topup_page(number: str = "", w: Web = Depends(seller)) -> Response:
    """The top-up form (``?number=`` fills the number in)."""
    return form_page(w, Form({"number": number, "amount": ""}))


@router.post("/pos/topup")
def choose(form: Form = Depends(posted), w: Web = Depends(seller)) -> Response:
    """Check the number and amount, then show the confirmation."""
    if check(w, form) is None:
        return form_page(w, form, 422)
    return w.redirect("/pos/topup/confirm", number=find_target(form.get("number")),
                      amount=form.get("amount"))


@router.get("/pos/topup/confirm")
def confirm(number: str = "", amount: str = "", w: Web = Depends(seller)) -> Response:
    """The confirmation of a checked top-up (checked again: things change)."""
    form = Form({"number": number, "amount": amount})
    checked = check(w, form)
    if checked is None:
        return form_page(w, form, 422)
    return confirm_page(w, checked, Form({"number": checked.number, "amount": amount}))


def _kyc_given(form: Form) -> kyc.KycInput | None:
    if not (form.get("id_type") or form.get("id_number")):
        return None
    return kyc.KycInput(form.get("id_type"), form.get("id_number"))


def _fingerprint(w: Web, form: Form) -> dict[str, Any]:
    """The sale as the idempotency record compares it; the ID number only as its keyed hash
    (an unkeyed digest of a short number could be reversed by trying them all)."""
    number = form.get("id_number")
    hashed = kyc.id_hash(w.db.settings.secret_key, form.get("id_type"), number) if number \
        else ""
    return {"line": form.get("number"), "amount": form.get("amount"),
            "id_type": form.get("id_type"), "id_number": hashed}


def _refused(w: Web, form: Form, exc: TopupError) -> Response:
    """Back to the step the refusal is about, with the reason next to its field."""
    if exc.code in KYC_CODES:
        again = Form({"number": form.get("number"), "amount": form.get("amount")})
        checked = check(w, again)
        if checked is not None:
            refuse(w, form, exc, checked.agent.currency, "id_number")
            return confirm_page(w, checked, form, 422)
        form = again
    else:
        form = Form({"number": form.get("number"), "amount": form.get("amount")})
        with w.db.unit(readonly=True) as uow:
            currency = caller(uow, w).currency
        refuse(w, form, exc, currency, FIELD_OF.get(exc.code, ""))
    return form_page(w, form, 422)


@router.post("/pos/topup/confirm")
def sell(form: Form = Depends(posted), w: Web = Depends(seller)) -> Response:
    """Sell the top-up from the float, once per confirmation page (its ``sale_key``)."""
    user = w.me()

    def work(uow: UnitOfWork) -> tuple[int, Any]:
        agent = caller(uow, w)
        amount = Money.parse(form.get("amount"), agent.currency).amount
        done = sell_topup(uow, Seller(agent.id, user.id), form.get("number"), amount,
                          kyc_given=_kyc_given(form))
        return 201, {"sale_id": done.sale.id}

    try:
        outcome = run_once(w.db, user.id, form.get("sale_key"), "POST", "/pos/topup",
                           _fingerprint(w, form), work, retry=True)
    except TopupError as exc:
        return _refused(w, form, exc)
    return w.redirect(f"/pos/sales/{outcome.body['sale_id']}", notice="pos_sold")
