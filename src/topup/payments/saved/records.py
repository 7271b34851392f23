"""The rows of ``saved_payment_methods``: which provider customer a user already has, and
recording a method once.

Two ways lead here: a setup the payer completed (``service.save_method``), and a card a
provider kept while it took a payment because the payer asked (``keep``, called by
``payments.settlement`` in the unit of work that settles the order).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import insert, select

from topup.db.uow import UnitOfWork
from topup.payments.interfaces import KeptMethod
from topup.payments.saved.tables import saved_payment_methods as spm

log = logging.getLogger("topup.payments")


def customer_of(uow: UnitOfWork, user_id: int, provider: str) -> str | None:
    """The provider's newest customer for this user, so that every card sits on one."""
    found = uow.conn.execute(select(spm.c.customer_ref).where(
        spm.c.user_id == user_id, spm.c.provider == provider,
    ).order_by(spm.c.id.desc()).limit(1)).scalar()
    return None if found is None else str(found)


def find(uow: UnitOfWork, provider: str, method_ref: str) -> Any:
    """The row of that method at that provider (live or revoked), or None."""
    return uow.conn.execute(select(spm).where(
        spm.c.provider == provider, spm.c.method_ref == method_ref)).first()


def add(uow: UnitOfWork, user_id: int, provider: str, customer_ref: str, method_ref: str,
        brand: str | None, last4: str | None) -> Any:
    """Insert a new row and return it; the caller has checked that it is new."""
    new_id = uow.conn.execute(insert(spm).values(
        user_id=user_id, provider=provider, customer_ref=customer_ref, method_ref=method_ref,
        brand=brand, last4=last4, created_at=uow.now).returning(spm.c.id)).scalar_one()
    return uow.conn.execute(select(spm).where(spm.c.id == new_id)).one()


def keep(uow: UnitOfWork, customer_id: int | None, kept: KeptMethod) -> int | None:
    """Record ``kept`` for the customer whose order it paid; its id, or None when not.

    Only for that order's own customer (the provider echoes whom we asked for). A method
    already recorded is left as it is, removed ones too: a replayed report must not bring
    back a card its owner removed.
    """
    if customer_id is None or kept.user_ref != str(customer_id):
        log.warning("not saving %s method %s: asked for user %s, order of %s", kept.saver,
                    kept.method_ref, kept.user_ref, customer_id)
        return None
    found = find(uow, kept.saver, kept.method_ref)
    if found is not None:
        return None
    return int(add(uow, customer_id, kept.saver, kept.customer_ref, kept.method_ref,
                   kept.brand, kept.last4).id)
