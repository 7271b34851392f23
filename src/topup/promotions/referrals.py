"""Referrals (邀请返利): a traveller's invite code; when someone registers with it and their
first order paid through a provider has stayed paid past the refund window, both get points.

A code is the inviter's id and a keyed check (``R`` + the id in base 32 + four characters of
an HMAC under TOPUP_SECRET_KEY): anyone can be given it, nobody can make another's. A
traveller is invited at most once (``referrals.invitee_id`` is unique), at registration. The
worker's ``referrals`` job credits ``TOPUP_REFERRAL_POINTS`` to each side
``TOPUP_CASHBACK_AFTER_DAYS`` after that order was fulfilled, once; an invitee whose first
paid order was refunded earns nobody anything until a later order stays paid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

from sqlalchemy import insert, select, update

from topup.db.uow import UnitOfWork
from topup.ledger import service as ledger
from topup.ledger.accounts import POINTS_LIABILITY
from topup.ledger.service import POINTS as UNIT
from topup.orders.tables import orders
from topup.promotions import points
from topup.promotions.errors import InvalidInvite
from topup.promotions.tables import referrals

OUTSIDE = tuple(points.PAID_OUTSIDE)


def _check(secret: str, user_id: int) -> str:
    mac = hmac.new(secret.encode(), f"invite:{user_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:4]


def invite_code(uow: UnitOfWork, user_id: int) -> str:
    """The traveller's own invite code."""
    body = base64.b32encode(user_id.to_bytes(8, "big").lstrip(b"\0") or b"\0").decode()
    return f"R{body.rstrip('=')}{_check(uow.settings.secret_key, user_id)}"


def inviter_of(uow: UnitOfWork, code: str) -> int:
    """The id behind an invite code; ``InvalidInvite`` when it is not one of ours."""
    text = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    if len(text) < 7 or not text.startswith("R"):
        raise InvalidInvite(field="invite")
    body, check = text[1:-4], text[-4:]
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InvalidInvite(field="invite") from exc
    user_id = int.from_bytes(raw, "big")
    if not hmac.compare_digest(check, _check(uow.settings.secret_key, user_id)):
        raise InvalidInvite(field="invite")
    return user_id


def join(uow: UnitOfWork, invitee_id: int, code: str) -> None:
    """Record that ``invitee_id`` registered with ``code``."""
    inviter = inviter_of(uow, code)
    if inviter == invitee_id:
        raise InvalidInvite(field="invite")
    uow.conn.execute(insert(referrals).values(
        inviter_id=inviter, invitee_id=invitee_id, state="pending", created_at=uow.now))


def credit_due(uow: UnitOfWork, limit: int = 200) -> int:
    """Credit both sides of each referral whose invitee has an order paid through a provider,
    fulfilled at least ``cashback_after_days`` ago and still fulfilled; returns how many."""
    due = uow.now - timedelta(days=uow.settings.cashback_after_days)
    first = select(orders.c.id).where(
        orders.c.customer_id == referrals.c.invitee_id, orders.c.state == "fulfilled",
        orders.c.fulfilled_at <= due, orders.c.method.not_in(OUTSIDE)
    ).order_by(orders.c.id).limit(1).scalar_subquery()
    rows = uow.conn.execute(select(referrals.c.id, referrals.c.inviter_id,
                                   referrals.c.invitee_id, first.label("order_id")).where(
        referrals.c.state == "pending").order_by(referrals.c.id).limit(limit)).all()
    done = 0
    worth = uow.settings.referral_points
    for r in rows:
        if r.order_id is None or worth <= 0:
            continue
        source = ledger.operator_account(uow, POINTS_LIABILITY, UNIT)
        for side, who in (("inviter", r.inviter_id), ("invitee", r.invitee_id)):
            ledger.transfer(uow, f"referral:{r.id}:{side}", source,
                            points.account(uow, int(who)), worth, code="referral",
                            ref=f"order:{r.order_id}")
        uow.conn.execute(update(referrals).where(referrals.c.id == r.id).values(
            state="credited", order_id=int(r.order_id), credited_at=uow.now))
        done += 1
    return done


def invited_count(uow: UnitOfWork, inviter_id: int) -> tuple[int, int]:
    """(travellers who registered with the code, of whom credited)."""
    rows = uow.conn.execute(select(referrals.c.state).where(
        referrals.c.inviter_id == inviter_id)).scalars().all()
    return len(rows), sum(1 for s in rows if s == "credited")
