"""The eSIM store: offers by destination, and buying a new eSIM with a plan.

A purchase reserves a profile of the pool that serves the plan, gives the profile's line to
the buyer (a guest's e-mail address becomes an account), and makes an ordinary plan order on
that line with channel ``store``, so payment, fulfilment, receipts, refunds and late
payments are the orders' own. When the order is fulfilled the profile is assigned
(``on_fulfilled``) and the buyer is sent the activation code; when it is given up, or its
reservation runs out unpaid (``sweep``), the profile goes back to stock
(``on_closed``). Adding data to an eSIM one holds is an ordinary plan order on its line and
takes nothing from stock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update

from topup.catalog import service as catalog
from topup.catalog.quotes import price
from topup.catalog.service import Plan
from topup.db.uow import Database, UnitOfWork
from topup.errors import Forbidden, InvalidInput
from topup.esim import inventory
from topup.esim.errors import AccountExists, NotSoldAsEsim
from topup.esim.inventory import Profile
from topup.ledger import service as ledger
from topup.money import Money
from topup.notifications.recipients import recipients_of
from topup.notifications.service import enqueue
from topup.orders.model import Order, OrderRequest
from topup.orders.service import create_order, expire_unpaid, get_order
from topup.payments.interfaces import PaymentProvider
from topup.payments.service import payment_ttl
from topup.subscribers import auth
from topup.subscribers import lines as line_svc
from topup.subscribers.identity import normalise_email
from topup.subscribers.tables import lines, users

CHANNEL = "store"
RESERVE_MARGIN = timedelta(minutes=5)  # past the payment window, for a payment in flight
IOS_SETUP = "https://esimsetup.apple.com/esim_qrcode_provisioning?carddata="


@dataclass(frozen=True)
class Offer:
    """A plan sold as a new eSIM, priced in the visitor's currency."""

    plan: Plan
    price: Money
    in_stock: bool


@dataclass(frozen=True)
class Purchase:
    """A store order and the profile it holds."""

    order: Order
    profile: Profile
    new_account: bool = False


def ios_link(activation_code: str) -> str:
    """Apple's one-tap install link for ``activation_code`` (``LPA:1$…``)."""
    return IOS_SETUP + quote(activation_code, safe="")


def offers(uow: UnitOfWork, country: str, currency: str,
           supplier: inventory.Supplier | None = None) -> list[Offer]:
    """Plans for ``country`` priced in ``currency`` that a pool of profiles serves, each
    saying whether a profile can be had now (in stock, or from the SM-DP+ on demand)."""
    known = inventory.pools(uow, supplier.pools if supplier else ())
    out = []
    for plan in catalog.list_plans(uow, country=country, currency=currency,
                                   on_sale_at=uow.now):
        if inventory.pool_for(plan, known, in_stock=False) is None:
            continue
        quoted = price(uow, plan, currency, uow.now, CHANNEL)
        out.append(Offer(plan, quoted.money(quoted.total),
                         inventory.pool_for(plan, known) is not None))
    return out


def buyer_for(uow: UnitOfWork, user_id: int | None, email: str | None, language: str,
              currency: str) -> tuple[int, bool]:
    """The account that buys: the logged-in user, or a new account for a guest's e-mail
    address (AccountExists when the address has one: its owner logs in to buy)."""
    if user_id is not None:
        if auth.get_user(uow, user_id).role != "customer":  # staff, agents, the network
            raise Forbidden("only travellers buy eSIMs in the store")
        return user_id, False
    if not email:
        raise InvalidInput("a guest gives an e-mail address", field="email")
    mail = normalise_email(email)
    if uow.conn.execute(select(users.c.id).where(users.c.email == mail)).first():
        raise AccountExists("an account uses this e-mail address: log in to buy",
                            field="email")
    # a password nobody knows: the buyer sets one through "forgot password"
    user = auth.register(uow, email=mail, phone=None, password=secrets.token_urlsafe(24),
                         language=language, currency=currency)
    return user.id, True


def buy(uow: UnitOfWork, *, buyer: int, plan_id: int, currency: str,
        provider: PaymentProvider, new_account: bool = False,
        supplier: inventory.Supplier | None = None) -> Purchase:
    """Reserve a profile for ``plan_id`` (from stock, or ordered from ``supplier``'s SM-DP+
    for an on-demand pool) and order it, paid through ``provider``."""
    plan = catalog.get_plan(uow, plan_id)
    # on sale and sold in this currency, before anything is taken
    price(uow, plan, currency, uow.now, CHANNEL, customer=buyer)
    until = uow.now + payment_ttl(uow.settings, provider.name) + RESERVE_MARGIN
    profile, ordered = inventory.reserve(uow, plan, until, supplier)
    try:
        _ready_line(uow, profile, currency, buyer)
        line = line_svc.get_line(uow, profile.line_id)
        order = create_order(uow, buyer, line, OrderRequest(
            kind="plan", method=provider.name, channel=CHANNEL, currency=currency,
            plan_id=plan.id), provider=provider)
        profile = inventory.attach(uow, profile, order.id, buyer)
    except Exception:
        if ordered and supplier is not None:  # the sale failed: the SM-DP+ takes it back
            supplier.undo(profile.iccid)
        raise
    return Purchase(order, profile, new_account)


def _ready_line(uow: UnitOfWork, profile: Profile, currency: str, buyer: int) -> None:
    """The profile's line takes the buyer's currency (it has never held value) and is the
    buyer's while the order waits."""
    held = ledger.wallets(uow, profile.line_id)
    if any(w.posted or w.pending_debits or w.pending_credits for w in held.values()):
        raise NotSoldAsEsim("this profile's line already holds value", iccid=profile.iccid)
    uow.conn.execute(update(lines).where(lines.c.id == profile.line_id).values(
        currency=currency, customer_id=buyer))


def purchase_of(uow: UnitOfWork, order_id: int, *, owner: int | None = None
                ) -> Purchase | None:
    """The store purchase an order is, if it is one (and ``owner``'s, when given)."""
    order = get_order(uow, order_id, owner=owner)
    profile = inventory.profile_of_order(uow, order.id)
    return Purchase(order, profile) if profile is not None else None


# --- what follows from an order ------------------------------------------------------------

def on_fulfilled(uow: UnitOfWork, order: Order) -> None:
    """A paid store order: its profile is the buyer's; the activation code goes out."""
    profile = inventory.profile_of_order(uow, order.id)
    if profile is None or profile.state != "reserved":
        return
    profile = inventory.assign(uow, profile)
    _send_activation(uow, profile, order)


def on_closed(uow: UnitOfWork, order: Order) -> None:
    """An order given up (expired, failed, cancelled): a profile it held goes back."""
    profile = inventory.profile_of_order(uow, order.id)
    if profile is not None and profile.state == "reserved":
        inventory.give_back(uow, profile, f"order {order.id} {order.state}")


def _send_activation(uow: UnitOfWork, profile: Profile, order: Order) -> None:
    to = recipients_of(uow, profile.line_id)
    if not to.email:
        return
    plan = catalog.get_plan(uow, int(order.plan_id or 0))
    code = profile.activation_code
    params: dict[str, Any] = {
        "order_id": order.id, "iccid": profile.iccid, "activation_code": code,
        "qr": code, "ios_link": ios_link(code), "smdp_address": profile.smdp_address,
        "matching_id": profile.matching_id, "plan_name": plan.name(to.language),
        "confirmation": profile.confirmation,
        "portal_url": f"{uow.settings.public_url}/lines/{profile.line_id}",
    }
    enqueue(uow, "email", to.email, "esim_ready", to.language, params, user_id=to.user_id)
    secret = inventory.confirmation_code(uow, profile)
    if secret:  # apart from the activation code: one leaked message installs nothing
        enqueue(uow, "email", to.email, "esim_confirmation", to.language,
                {"iccid": profile.iccid, "confirmation_code": secret, "order_id": order.id},
                user_id=to.user_id)


def sweep(db: Database, limit: int = 200) -> int:
    """Give back profiles whose reservation ran out unpaid: the order expires (a payment
    that still comes follows the late-payment rules) and the profile returns to stock."""
    with db.unit(readonly=True) as uow:
        due = inventory.reservations_past(uow, uow.now, limit)
    return sum(db.transact(partial(_give_back, profile.id), what="esim reservations")
               for profile in due)


def _give_back(profile_id: int, uow: UnitOfWork) -> bool:
    """One profile of ``sweep``: whether it is back in stock."""
    current = inventory.get_profile(uow, profile_id)
    if current.state != "reserved" or current.reserved_until is None \
            or current.reserved_until > uow.now:
        return False
    if current.order_id is not None:  # its OrderClosed gives the profile back
        expire_unpaid(uow, current.order_id)
    current = inventory.get_profile(uow, profile_id)
    if current.state == "reserved":  # an order that was not waiting any more
        inventory.give_back(uow, current, "reservation ran out")
    return inventory.get_profile(uow, profile_id).state == "available"


def low_stock(db: Database) -> list[dict[str, Any]]:
    """Alert the operator once per pool whose available profiles fell to the threshold
    (``TOPUP_ESIM_LOW_STOCK``); a pool back above it is alerted again next time."""
    from topup.esim.tables import esim_stock_alerts as alerts

    threshold = db.settings.esim_low_stock

    def work(uow: UnitOfWork) -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        known = {(p.profile_type, p.zone_code): p.available for p in inventory.pools(uow)}
        flagged = {(r.profile_type, r.zone_code) for r in uow.conn.execute(select(alerts))}
        for (ptype, zone), available in sorted(known.items()):
            key = (ptype, zone)
            if available > threshold:
                if key in flagged:
                    uow.conn.execute(alerts.delete().where(
                        alerts.c.profile_type == ptype, alerts.c.zone_code == zone))
                continue
            if key in flagged:
                continue
            uow.conn.execute(alerts.insert().values(
                profile_type=ptype, zone_code=zone, alerted_at=uow.now, available=available))
            entry = {"profile_type": ptype, "zone": zone, "available": available,
                     "threshold": threshold}
            if uow.settings.alert_email:
                enqueue(uow, "email", uow.settings.alert_email, "esim_low_stock", "en", entry)
            sent.append(entry)
        return sent

    return db.transact(work, what="eSIM low stock")

