"""Confirmations of fulfilled orders, queued in the order's own unit of work.

Every channel fulfils orders through ``orders.service._fulfil`` (or the batched top-ups),
which publishes ``OrderFulfilled`` once per order: a top-up credited, a plan bought or
renewed, a voucher redeemed (``method == "voucher"``: the ``voucher_redeemed`` template).
``order_fulfilled`` handles it (wired in ``topup.handlers``) before the unit commits. The customer's
preferences pick the channels: e-mail to the account's address, SMS to the line's number
(quiet hours respected). A line without a customer gets an SMS in the operator's default
language. An order made by SMS keyword gets no confirmation SMS: the keyword reply says it.
A top-up made by a line's auto top-up rule is confirmed with ``auto_topup_done`` (it says
why the card was charged).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from topup.catalog import service as catalog
from topup.db.uow import UnitOfWork
from topup.notifications.recipients import notify_line, recipients_of
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

if TYPE_CHECKING:
    from topup.orders.model import OrderFulfilled


BY_CHANNEL = {"autotopup": "auto_topup_done"}  # orders.autotopup.CHANNEL


def _params(uow: UnitOfWork, event: OrderFulfilled, line: Line, language: str
            ) -> dict[str, Any]:
    order = event.order
    credited_cur = order.credit_currency or order.currency
    credited = order.credit_amount if order.credit_currency else order.amount
    plan = catalog.get_plan(uow, order.plan_id) if order.plan_id else None
    return {
        "order_id": order.id, "kind": order.kind, "renewal": bool(order.renewal),
        "amount": order.amount, "currency": order.currency,
        "credited_amount": credited, "credited_currency": credited_cur,
        "balance": event.balance, "balance_currency": order.credited_currency,
        "plan_name": plan.name(language) if plan else None,
        "valid_until": event.valid_until.isoformat() if event.valid_until else None,
        "number": f"+{line.msisdn}" if line.msisdn else line.iccid,
    }


def order_fulfilled(uow: UnitOfWork, event: OrderFulfilled) -> None:
    """Queue the confirmations of a fulfilled order."""
    order = event.order
    line = line_svc.get_line(uow, order.line_id)
    template = ("voucher_redeemed" if order.method == "voucher" else
                BY_CHANNEL.get(order.channel, "order_fulfilled"))
    to = recipients_of(uow, line.id)
    notify_line(uow, line.id, template, _params(uow, event, line, to.language),
                sms=order.channel != "sms", to=to)
