"""Reading single vouchers with their batch's terms, optionally under a row lock."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

from topup.db.uow import UnitOfWork
from topup.vouchers.errors import VoucherNotFound
from topup.vouchers.tables import voucher_batches as b
from topup.vouchers.tables import vouchers as v
from topup.vouchers.views import VoucherView, parse_serial, voucher_view

BATCH_COLUMNS = (b.c.face_amount, b.c.currency, b.c.plan_id, b.c.expires_at,
                 b.c.state.label("batch_state"), b.c.generated_at,
                 b.c.state_before_freeze.label("batch_state_before_freeze"))


def joined() -> Select[Any]:
    """Every voucher column plus its batch's terms."""
    return select(v, *BATCH_COLUMNS).join(b, b.c.id == v.c.batch_id)


def locked(uow: UnitOfWork, query: Select[Any]) -> Any:
    """The first row of ``query``, locking the voucher row on PostgreSQL (SQLite's single
    writer already excludes every other writer)."""
    if uow.dialect == "postgresql":
        query = query.with_for_update(of=v)
    return uow.conn.execute(query).first()


def by_hash(uow: UnitOfWork, pin_hash: str, *, lock: bool = False) -> Any:
    """The voucher row with this PIN hash (None when there is none)."""
    query = joined().where(v.c.pin_hash == pin_hash)
    return locked(uow, query) if lock else uow.conn.execute(query).first()


def by_serial(uow: UnitOfWork, serial: str, *, lock: bool = False) -> Any:
    """The voucher row with this serial; VoucherNotFound when there is none."""
    query = joined().where(v.c.serial == parse_serial(serial))
    row = locked(uow, query) if lock else uow.conn.execute(query).first()
    if row is None:
        raise VoucherNotFound()
    return row


def by_id(uow: UnitOfWork, voucher_id: int, *, lock: bool = False) -> Any:
    """The voucher row with this id (it must exist)."""
    query = joined().where(v.c.id == voucher_id)
    row = locked(uow, query) if lock else uow.conn.execute(query).first()
    if row is None:
        raise VoucherNotFound()
    return row


def get_voucher(uow: UnitOfWork, serial: str) -> VoucherView:
    """The voucher with this serial, as staff see it."""
    return voucher_view(by_serial(uow, serial), uow.now)
