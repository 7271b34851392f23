"""Orders: create (immutable once submitted), pay, fulfil — the same path for every channel.

Money always passes through the line's wallet: a payment or a manual credit lands in the
wallet, and a plan is bought from the wallet. Every ledger transfer is keyed by the order, so
repeating any step moves nothing twice. What follows from an order elsewhere (its
confirmations, its receipt) is published as an event (``orders.model``) and handled before
the unit of work commits, never called from here.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.catalog.quotes import Quote as PriceQuote
from topup.catalog.quotes import price
from topup.charging.buckets import issue_bucket
from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import (
    DEFERRED_REVENUE,
    FEE_REVENUE,
    MANUAL_CREDIT,
    UNALLOCATED,
    clearing_kind,
)
from topup.money import Money
from topup.orders import fx, limits
from topup.orders.errors import (
    DuplicateSuspected,
    InvalidOrder,
    OrderNotFound,
    PaymentMethodUnavailable,
    PaymentMismatch,
)
from topup.orders.methods import check_method
from topup.orders.model import (
    LIVE_STATES,
    Order,
    OrderFulfilled,
    OrderRequest,
    PaymentSettled,
    Prepaid,
    Quote,
    move_order,
    record_created,
)
from topup.orders.tables import order_events, orders, with_payment_ref
from topup.promotions import books as promo_books
from topup.promotions.pricing import Offers

__all__ = ["awaiting_payment", "create_order", "expire_unpaid", "fulfilled", "get_order",
           "late_payment_key", "line_orders", "order_by_payment_ref", "price_request", "quote",
           "return_token", "settle_payment"]
from topup.payments.interfaces import (
    KeepsMethods,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    SaveFor,
)
from topup.payments.saved.records import customer_of
from topup.subscribers import groups
from topup.subscribers import lines as line_svc
from topup.subscribers.lines import Line


def get_order(uow: UnitOfWork, order_id: int, *, owner: int | None = None) -> Order:
    """The order; with ``owner``, only if it belongs to that customer."""
    query = select(orders).where(orders.c.id == order_id)
    if owner is not None:
        query = query.where(orders.c.customer_id == owner)
    row = uow.conn.execute(query).first()
    if row is None:
        raise OrderNotFound()
    return Order.of(row)


def line_orders(uow: UnitOfWork, line_id: int, *, limit: int, before: int | None = None
                ) -> list[Order]:
    """A line's orders, newest first, keyset-paged by id."""
    cond = orders.c.line_id == line_id
    if before is not None:
        cond = cond & (orders.c.id < before)
    rows = uow.conn.execute(select(orders).where(cond).order_by(orders.c.id.desc()).limit(limit))
    return [Order.of(r) for r in rows]


def expire_unpaid(uow: UnitOfWork, order_id: int) -> Order:
    """Give up on an order still awaiting payment (a payment that comes later is credited
    to the wallet by ``settle_payment``, never lost)."""
    order = get_order(uow, order_id)
    if order.state != "awaiting_payment":
        return order
    return move_order(uow, order, "expired", "no payment in time")


def order_by_payment_ref(uow: UnitOfWork, payment_ref: str) -> Order:
    """The order a provider's payment belongs to (``<provider>:<ref>``)."""
    row = uow.conn.execute(select(orders).where(with_payment_ref(uow.dialect, payment_ref))
                           ).first()
    if row is None:
        raise OrderNotFound()
    return Order.of(row)


def awaiting_payment(uow: UnitOfWork, created_before: datetime, limit: int) -> list[Order]:
    """Orders still waiting for their payment that were created before ``created_before``."""
    rows = uow.conn.execute(select(orders).where(
        orders.c.state == "awaiting_payment", orders.c.created_at <= created_before,
    ).order_by(orders.c.id).limit(limit))
    return [Order.of(r) for r in rows]


def price_request(uow: UnitOfWork, line: Line, req: OrderRequest, *, prepaid: bool = False
                  ) -> tuple[PriceQuote, Any]:
    """The catalogue's quote for ``req`` on ``line`` and the plan it buys (None for a
    top-up), checked against the currencies the line takes and the top-up limits. The fee of
    the method is a line of the quote, except for a manual credit or a prepaid source."""
    currency = limits.order_currency(uow, line, req)
    item: Any
    if req.kind == "topup":
        if req.group_id is not None:
            raise InvalidOrder("a group buys plans, not top-ups", field="group_id")
        if req.amount is None or isinstance(req.amount, bool) or req.amount <= 0:
            raise InvalidOrder("a top-up needs a positive amount in minor units", field="amount")
        item = Money(req.amount, currency)
        catalog.check_topup_amount(uow, line.home_country, item)
        if req.method == "manual":
            limits.check_manual_credit(uow, line, item)
        plan = None
    else:
        if req.kind != "plan" or req.plan_id is None:
            raise InvalidOrder("kind is topup (with amount) or plan (with plan_id)",
                               field="kind")
        if req.group_id is not None:
            groups.ensure_member(uow, req.group_id, line.id)
        item = plan = catalog.get_plan(uow, req.plan_id)
    fee_method = None if prepaid or req.method == "manual" else req.method
    # a staff credit is no sale; a prepaid source's value is fixed (a bonus may come on top)
    # (nor does a top-up converted into another currency: its terms are fixed by the rate)
    converted = req.kind == "topup" and bool(req.credit_currency) and \
        req.credit_currency != currency
    offers: Offers = "none" if req.method == "manual" or converted else \
        "bonus" if prepaid else "all"
    return price(uow, item, currency, uow.now, req.channel, customer=line.customer_id,
                 code=req.code, method=fee_method, offers=offers, points=req.points,
                 agent=req.agent_id), plan


def _check_duplicate(uow: UnitOfWork, line: Line, req: OrderRequest, money: Money
                     ) -> list[Order]:
    """Refuse a second same-amount order made within the window (DuplicateSuspected) while
    the first is paid or still waits for the same method; failed, cancelled and expired
    orders never count. A first order still waiting for *another* method is what a payer
    leaves behind when that method declined or was given up: it is returned, to be
    superseded, so paying the same amount another way needs no confirmation."""
    since = uow.now - timedelta(seconds=uow.settings.duplicate_topup_window_seconds)
    twins = [Order.of(r) for r in uow.conn.execute(select(orders).where(
        orders.c.line_id == line.id, orders.c.kind == req.kind, orders.c.amount == money.amount,
        orders.c.currency == money.currency, orders.c.created_at >= since,
        orders.c.state.in_(LIVE_STATES),
        (orders.c.plan_id == req.plan_id) if req.plan_id else orders.c.plan_id.is_(None),
    ).order_by(orders.c.id).with_for_update())]
    given_up = [t for t in twins if t.state == "awaiting_payment" and t.method != req.method
                and t.payment_ref is not None]
    blocking = [t for t in twins if t not in given_up]
    if blocking:
        raise DuplicateSuspected(
            "the same order was made for this line a few minutes ago; check the balance, "
            "and send confirm_duplicate=true to really pay again", order_id=blocking[0].id)
    return given_up


def quote(uow: UnitOfWork, line: Line, req: OrderRequest, *,
          provider: PaymentProvider | None = None, prepaid: bool = False) -> Quote:
    """The catalogue's price quote of a prospective order paid by ``provider`` (or from a
    prepaid source), with its conversion terms; nothing is written. The method is checked
    exactly as ``create_order`` checks it, and the quote is the one it would store."""
    line_svc.ensure_usable(line)
    priced, _ = price_request(uow, line, req, prepaid=prepaid)
    money = priced.money(priced.subtotal)
    check_method(req, money, provider, prepaid=prepaid)
    conv = fx.terms(uow, req, money)
    credit = Money(conv["credit_amount"], conv["credit_currency"]) if conv["fx_rate"] else None
    return Quote(priced, credit, conv["fx_rate"])


def _collect_fee(uow: UnitOfWork, order: Order, payer_account: int) -> None:
    if order.fee:
        mu = ledger.money_unit(order.currency)
        ledger.transfer(uow, f"order:{order.id}:fee", payer_account,
                        ledger.operator_account(uow, FEE_REVENUE, mu, line_id=order.line_id),
                        order.fee, code="fee", ref=f"order:{order.id}")


def create_order(uow: UnitOfWork, actor_id: int | None, line: Line, req: OrderRequest, *,
                 provider: PaymentProvider | None = None, prepaid: Prepaid | None = None
                 ) -> Order:
    """Submit an order and carry it as far as it can go now.

    ``wallet`` (plans), ``manual`` (staff credit with a reason) and ``prepaid`` (a voucher, an
    agent's float) complete at once; a provider method leaves the order awaiting payment with
    the payer's next action.
    """
    line_svc.ensure_usable(line)
    priced, plan = price_request(uow, line, req, prepaid=prepaid is not None)
    money = priced.money(priced.subtotal)
    check_method(req, money, provider, prepaid=prepaid is not None)
    superseded = []
    if not req.confirm_duplicate and prepaid is None:
        superseded = _check_duplicate(uow, line, req, money)
    order_id = int(uow.conn.execute(insert(orders).values(
        customer_id=line.customer_id, line_id=line.id, kind=req.kind, plan_id=req.plan_id,
        amount=priced.subtotal, fee=priced.fee_amount, quote=priced.to_json(),
        currency=money.currency, method=req.method, channel=req.channel,
        **fx.terms(uow, req, money),
        state="created", reason=(req.reason or "").strip() or None, created_by=actor_id,
        confirmed_duplicate=req.confirm_duplicate, renewal=False, group_id=req.group_id,
        created_at=uow.now, updated_at=uow.now,
    ).returning(orders.c.id)).scalar_one())
    record_created(uow, order_id)
    promo_books.hold(uow, order_id, line.customer_id, priced)
    for twin in superseded:  # a payment that still comes for it follows the late policy
        move_order(uow, twin, "cancelled", f"superseded by order {order_id}")
    order = get_order(uow, order_id)
    if req.method == "manual":
        audit(uow, actor_id, "order.manual_credit", f"line:{line.id}", reason=order.reason,
              order_id=order_id, amount=money.amount, currency=money.currency)
        return _fund_and_fulfil(uow, order, _operator(uow, order, MANUAL_CREDIT), "manual_credit",
                                plan)
    if prepaid is not None:
        return _fund_and_fulfil(uow, order, prepaid.account_id, prepaid.note, plan)
    if req.method == "wallet":
        _collect_fee(uow, order, ledger.wallet(uow, line.id, order.currency))
        return _fulfil(uow, move_order(uow, order, "paid", paid_at=uow.now), plan)
    assert provider is not None
    return _start_payment(uow, order, provider, plan, req)


def return_token(secret_key: str, order_id: int) -> str:
    """The key to an order's public return page: only the payer's return URL carries it."""
    mac = hmac.new(secret_key.encode(), f"return:{order_id}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def _start_payment(uow: UnitOfWork, order: Order, provider: PaymentProvider, plan: Any,
                   req: OrderRequest) -> Order:
    desc = plan.name_en if plan is not None else f"Top-up {order.money}"
    base = uow.settings.public_url
    key = return_token(uow.settings.secret_key, order.id)
    started = provider.start(PaymentRequest(
        order.id, order.amount + order.fee, order.currency, desc, f"order-{order.id}",
        return_url=f"{base}/pay/return/{order.id}?t={key}",
        notify_url=f"{base}/api/v1/webhooks/{provider.name}", language=req.language,
        save_for=_save_for(uow, order, provider, req)))
    return move_order(uow, order, "awaiting_payment", provider.name,
                 payment_ref=f"{provider.name}:{started.provider_ref}",
                 next_action={"kind": started.next_action.kind,
                              "value": started.next_action.value,
                              "extra": dict(started.next_action.extra)})


def _save_for(uow: UnitOfWork, order: Order, provider: PaymentProvider, req: OrderRequest
              ) -> SaveFor | None:
    """Whom the card is kept for (and their customer at the provider), when the payer asked;
    a method that cannot keep cards is refused rather than silently not saving."""
    if not req.save_method:
        return None
    if order.customer_id is None or not isinstance(provider, KeepsMethods):
        raise PaymentMethodUnavailable(f"payment method {req.method!r} cannot keep the card")
    return SaveFor(str(order.customer_id),
                   customer_of(uow, order.customer_id, provider.saves_with))


def _operator(uow: UnitOfWork, order: Order, kind: str) -> int:
    """The operator's ``kind`` account in the order's currency, on the line's shard."""
    return ledger.operator_account(uow, kind, ledger.money_unit(order.currency),
                                   line_id=order.line_id)


def _fund_and_fulfil(uow: UnitOfWork, order: Order, src: int, note: str, plan: Any) -> Order:
    if order.credit_currency:
        fx.fund_converted(uow, order, src)
    else:
        ledger.transfer(uow, f"order:{order.id}:fund", src,
                        ledger.wallet(uow, order.line_id, order.currency), order.amount,
                        code="topup", ref=f"order:{order.id}")
    _collect_fee(uow, order, src)
    return _fulfil(uow, move_order(uow, order, "paid", note, paid_at=uow.now), plan)


def _fulfil(uow: UnitOfWork, order: Order, plan: Any) -> Order:
    line = line_svc.get_line(uow, order.line_id)
    if order.kind == "topup":
        until = uow.now + timedelta(days=uow.settings.topup_validity_days)
        line = line_svc.activate_on_value(uow, line, until)
        order = move_order(uow, order, "fulfilled", fulfilled_at=uow.now)
        promo_books.book(uow, order)
        return fulfilled(uow, order, line.valid_until)
    plan = plan or catalog.get_plan(uow, int(order.plan_id or 0))
    mu = ledger.money_unit(order.currency)
    deferred = ledger.operator_account(uow, DEFERRED_REVENUE, mu, line_id=line.id)
    ledger.transfer(uow, f"order:{order.id}:buy", ledger.wallet(uow, line.id, order.currency),
                    deferred, order.amount, code="plan_purchase", ref=f"order:{order.id}")
    bucket_id, renews = issue_bucket(uow, line.id, plan, order.id, order.group_id)
    latest: datetime | None = max(
        (b.expires_at for b in _line_expiries(uow, line.id)), default=None)
    line = line_svc.activate_on_value(uow, line, latest)
    order = move_order(uow, order, "fulfilled", fulfilled_at=uow.now, bucket_id=bucket_id,
                       renewal=renews)
    promo_books.book(uow, order)
    return fulfilled(uow, order, line.valid_until)


def fulfilled(uow: UnitOfWork, order: Order, valid_until: datetime | None) -> Order:
    """Publish ``OrderFulfilled`` for ``order`` with the wallet balance it left and the
    line's validity ``valid_until``; returns ``order``."""
    wallet = ledger.wallets(uow, order.line_id).get(order.credited_currency)
    uow.publish(OrderFulfilled(order, wallet.available if wallet else 0, valid_until))
    return order


def _line_expiries(uow: UnitOfWork, line_id: int) -> list[Any]:
    from topup.charging.buckets import line_buckets

    return [b for b in line_buckets(uow, line_id) if b.expires_at is not None]


def settle_payment(uow: UnitOfWork, payment_ref: str, status: PaymentStatus) -> Order:
    """Apply a provider's verified report to its order, exactly once.

    Duplicate, late and out-of-order reports are harmless: a paid or fulfilled order is
    returned as it is; a report whose amount or currency differs raises PaymentMismatch.
    """
    row = uow.conn.execute(select(orders).where(with_payment_ref(uow.dialect, payment_ref))
                           .with_for_update()).first()
    if row is None:
        raise OrderNotFound(f"no order for payment {payment_ref}")
    order = Order.of(row)
    paid = status.state == "succeeded"
    total = order.total
    if paid and (status.amount != total.amount or status.currency != total.currency):
        raise PaymentMismatch(f"paid {status.amount} {status.currency}, order {total}")
    source = clearing_kind(payment_ref.split(":", 1)[0])
    if order.state in ("failed", "cancelled", "expired") and status.state == "succeeded":
        return _credit_late_payment(uow, order, source)
    if order.state != "awaiting_payment":
        return order
    if status.state == "failed":
        return move_order(uow, order, "failed", "payment failed")
    if status.state != "succeeded":
        return order
    order = _fund_and_fulfil(uow, order, _operator(uow, order, source), source, None)
    uow.publish(PaymentSettled(order, status.method_detail))
    return order


def late_payment_key(order_id: int) -> str:
    """The ledger transfer that credits a payment which came after its order gave up."""
    return f"order:{order_id}:late-fund"


def _credit_late_payment(uow: UnitOfWork, order: Order, source: str) -> Order:
    """Money that arrives for an order given up on is never lost: all of it, fee included
    (the order was not served), lands in the wallet."""
    key = late_payment_key(order.id)
    if ledger.find_transfer(uow, key) is not None:
        return order
    mu = ledger.money_unit(order.currency)
    # A line that changed hands since (an eSIM given back to stock when its order expired)
    # is not the payer's wallet any more: the money waits in a suspense account, by order,
    # for finance to pay back.
    holder = line_svc.get_line(uow, order.line_id).customer_id
    to = ledger.wallet(uow, order.line_id, order.currency) if holder == order.customer_id \
        else ledger.operator_account(uow, UNALLOCATED, mu, line_id=order.line_id)
    ledger.transfer(uow, key, ledger.operator_account(uow, source, mu, line_id=order.line_id),
                    to, order.total.amount, code="late_payment", ref=f"order:{order.id}")
    uow.conn.execute(insert(order_events).values(
        order_id=order.id, at=uow.now, from_state=order.state, to_state=order.state,
        note="late payment credited to the wallet" if holder == order.customer_id
        else "late payment kept for refund: the line is no longer the payer's"))
    return order
