"""Confirmations of fulfilled orders, queued in the order's own unit of work.

Every channel fulfils orders through ``orders.service._fulfil``, which calls
``order_fulfilled`` once per order: a top-up credited, a plan bought or renewed, a voucher
redeemed (``method == "voucher"``: the ``voucher_redeemed`` template). The customer's
preferences pick the channels: e-mail to the account's address, SMS to the line's number
(quiet hours respected). A line without a customer gets an SMS in the operator's default
language. An order made by SMS keyword gets no confirmation SMS: the keyword reply says it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from topup.catalog import service as catalog
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.notifications.preferences import get_preferences
from topup.notifications.rendering import LANGUAGES
from topup.notifications.service import enqueue
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line

if TYPE_CHECKING:
    from topup.orders.service import Order


def _params(uow: UnitOfWork, order: Order, line: Line, language: str) -> dict[str, Any]:
    credited_cur = order.credit_currency or order.currency
    credited = order.credit_amount if order.credit_currency else order.amount
    balance_cur = credited_cur if order.kind == "topup" else order.currency
    wallet = ledger.wallets(uow, line.id).get(balance_cur)
    plan = catalog.get_plan(uow, order.plan_id) if order.plan_id else None
    return {
        "order_id": order.id, "kind": order.kind, "renewal": bool(order.renewal),
        "amount": order.amount, "currency": order.currency,
        "credited_amount": credited, "credited_currency": credited_cur,
        "balance": wallet.available if wallet else 0, "balance_currency": balance_cur,
        "plan_name": plan.name(language) if plan else None,
        "valid_until": line.valid_until.isoformat() if line.valid_until else None,
        "number": f"+{line.msisdn}" if line.msisdn else line.iccid,
    }


def order_fulfilled(uow: UnitOfWork, order: Order) -> Order:
    """Queue the confirmations of a fulfilled order; returns ``order`` unchanged."""
    line = line_svc.get_line(uow, order.line_id)
    template = "voucher_redeemed" if order.method == "voucher" else "order_fulfilled"
    by_sms = order.channel != "sms"
    if line.customer_id is None:
        lang = uow.settings.default_language
        lang = lang if lang in LANGUAGES else "en"
        if line.msisdn and by_sms:
            enqueue(uow, "sms", f"+{line.msisdn}", template, lang,
                    _params(uow, order, line, lang))
        return order
    user = auth.update_profile(uow, line.customer_id)  # the subscribers area's read of a user
    prefs = get_preferences(uow, user.id)
    params = _params(uow, order, line, user.language)
    if prefs.email and user.email:
        enqueue(uow, "email", user.email, template, user.language, params, user_id=user.id)
    number = f"+{line.msisdn}" if line.msisdn else user.phone
    if prefs.sms and number and by_sms:
        enqueue(uow, "sms", number, template, user.language, params, user_id=user.id,
                quiet=True)
    return order
