"""Ways to pay in the portal, the payer's next step (a provider's page, a QR code to scan,
bank details), and asking the provider about an order that still waits.

Cards are paid on Stripe's hosted page (``stripe_checkout``): the portal loads no third-party
script, and the card never reaches topup. The ``stripe`` method (Stripe.js in the payer's own
app) is not offered here. A payer paying by such a method may ask to keep the card for
automatic renewals and top-ups (``keeps_cards``).
"""

from __future__ import annotations

import logging

import segno
from fastapi import Request
from markupsafe import Markup

from topup.channels.portal.web import Web
from topup.db.uow import Database
from topup.errors import TopupError
from topup.orders.model import Order
from topup.payments.interfaces import KeepsMethods, accepts
from topup.payments.saved.service import StoredMethod, list_methods
from topup.payments.settlement import settle
from topup.receipts.view import METHODS

log = logging.getLogger("topup.portal")
PORTAL_PROVIDERS = ("sandbox", "stripe_checkout", "paypal", "alipay", "wechatpay", "bank")


def method_label(lang: str, name: str) -> str:
    """A payment method's name in ``lang``."""
    en, zh = METHODS.get(name, (name, name))
    return zh if lang == "zh-CN" else en


def method_choices(w: Web, kind: str, currency: str) -> list[tuple[str, str]]:
    """(name, label) of the methods offered for a ``kind`` order in ``currency``: the wallet
    for plans, then each configured provider that collects that currency and whose payment
    step the portal can show."""
    providers = w.request.app.state.payment_providers
    names = [n for n in PORTAL_PROVIDERS if n in providers and accepts(providers[n], currency)]
    if kind == "plan":
        names.insert(0, "wallet")
    return [(n, method_label(w.t.lang, n)) for n in names]


def keeps_cards(w: Web, method: str) -> bool:
    """Whether ``method`` can keep the payer's card for later, and a configured saver can
    charge what it keeps (auto-renew, automatic top-up)."""
    provider = w.request.app.state.payment_providers.get(method)
    return (isinstance(provider, KeepsMethods)
            and provider.saves_with in w.request.app.state.saved_methods)


def saved_cards(w: Web, method: str) -> list[StoredMethod]:
    """The signed-in payer's cards kept by the saver behind ``method`` (none if it keeps none)."""
    if not keeps_cards(w, method):
        return []
    saver = w.request.app.state.payment_providers[method].saves_with
    with w.db.unit(readonly=True) as uow:
        return [m for m in list_methods(uow, w.me().id) if m.provider == saver]


def qr_svg(payload: str, title: str) -> Markup:
    """``payload`` as an inline SVG QR code (its text is escaped by segno)."""
    svg = segno.make(payload, error="m", micro=False).svg_inline(
        scale=5, border=4, title=title, dark="#000", light="#fff")
    return Markup(svg)  # noqa: S704 - segno writes the SVG and escapes the title


def refresh(request: Request, db: Database, order: Order) -> Order:
    """While an order waits for its payment, ask the provider (a PayPal payment is captured
    the moment its payer returns); a slow or absent provider just leaves it waiting."""
    name, _, ref = (order.payment_ref or "").partition(":")
    provider = request.app.state.payment_providers.get(name)
    if provider is None or order.state != "awaiting_payment":
        return order
    try:
        status = provider.query(ref)
        if status.state == "pending":  # nothing to write: polling stays read-only
            return order
        order = settle(db, provider, order.payment_ref or "", status, "return")
    except TopupError as exc:
        log.warning("portal: %s query for order %s failed: %s", name, order.id, exc)
    return order
