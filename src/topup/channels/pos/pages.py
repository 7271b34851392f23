"""What every POS page shares: the agent the caller acts for, the section tabs, the masked
line number, the ID types' names, and refusals said in the seller's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends
from fastapi.responses import HTMLResponse

from topup.agents import agents as agent_svc
from topup.agents.agents import Agent
from topup.agents.topups import Sale
from topup.channels.portal.i18n import N_
from topup.channels.portal.messages import error_text
from topup.channels.portal.web import Form, Web, requires
from topup.db.uow import UnitOfWork
from topup.errors import TopupError
from topup.money import Money
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

TABS = (
    ("/pos", N_("Point of sale"), "home"),
    ("/pos/topup", N_("Top up a line"), "topup"),
    ("/pos/voucher", N_("Sell a voucher card"), "voucher"),
    ("/pos/statement", N_("Daily statement"), "statement"),
)

ID_TYPES = {
    "passport": N_("Passport"), "national_id": N_("National ID card"),
    "residence_permit": N_("Residence permit"), "driving_licence": N_("Driving licence"),
}

SALE_KINDS = {"topup": N_("Top-up"), "voucher": N_("Voucher card")}


def caller(uow: UnitOfWork, w: Web) -> Agent:
    """The agent the signed-in staff login acts for (403 page when it acts for none)."""
    return agent_svc.agent_of_staff(uow, w.me())


def seller(w: Web = Depends(requires("agent"))) -> Web:
    """The dependency of every POS page: a signed-in staff login of an agent (the login page
    when signed out, a 403 page for any other login, or an agent login linked to none)."""
    with w.db.unit(readonly=True) as uow:
        caller(uow, w)
    return w


def page(w: Web, template: str, tab: str, status: int = 200, **extra: Any) -> HTMLResponse:
    """Render a POS page with its tab highlighted."""
    return w.page(template, status=status, tabs=TABS, tab=tab, id_types=ID_TYPES,
                  sale_kinds=SALE_KINDS, **extra)


def masked(line: Line) -> str:
    """The line as the counter's screen and receipt show it: the first three and the last
    four digits of the number (``+852****4567``), or of the ICCID when there is no number."""
    if line.msisdn:
        digits = line.msisdn
        return "+" + digits[:3] + "*" * max(len(digits) - 7, 1) + digits[-4:]
    return line.iccid[:4] + "*" * max(len(line.iccid) - 8, 1) + line.iccid[-4:]


def low_float(w: Web, available: Money, needed: Money) -> str:
    """Why a sale cannot be paid from the float, with both amounts."""
    return w.t.gettext("The float holds %(available)s; this sale needs %(needed)s. Ask the "
                       "operator to fund the float first.",
                       available=available.format(w.t.locale), needed=needed.format(w.t.locale))


def refusal(w: Web, exc: TopupError, currency: str) -> str:
    """A service's refusal in the seller's language (a low float says by how much, in the
    float's ``currency``)."""
    if exc.code == "idempotency_key_reused":
        return w.t.gettext("This form was already sent for another sale. Check the details "
                           "and send it again to make a new sale.")
    available, needed = exc.extra.get("available"), exc.extra.get("needed")
    if exc.code == "float_insufficient" and isinstance(available, int) and \
            isinstance(needed, int):
        return low_float(w, Money(available, currency), Money(needed, currency))
    return error_text(w.t, exc)


def refuse(w: Web, form: Form, exc: TopupError, currency: str, default_field: str) -> None:
    """Show ``exc`` in the seller's words next to the field it names (``default_field`` when
    it names none)."""
    form.refuse(w.t, exc, default_field, refusal(w, exc, currency))


@dataclass(frozen=True)
class SaleRow:
    """One sale as the lists show it."""

    sale: Sale
    item: str  # the masked line, or the card's serial
    amount: Money
    commission: Money


def sale_rows(uow: UnitOfWork, sales: list[Sale]) -> list[SaleRow]:
    """The lists' rows for ``sales`` (each line looked up once)."""
    shown: dict[int, str] = {}
    rows = []
    for s in sales:
        if s.line_id is not None and s.line_id not in shown:
            shown[s.line_id] = masked(line_svc.get_line(uow, s.line_id))
        item = shown[s.line_id] if s.line_id is not None else (s.voucher_serial or "")
        rows.append(SaleRow(s, item, Money(s.amount, s.currency),
                            Money(s.commission, s.currency)))
    return rows
