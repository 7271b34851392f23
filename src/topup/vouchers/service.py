"""The vouchers area's public face: every channel and the other areas import from here.

- ``redeem(db, pin, line_id, ctx)``: the one redemption service (see ``redemption``);
- ``check_serial`` / ``public_check``: what anyone may learn from a serial;
- ``sell``: a retailer activates one card paid from its float; ``expire_vouchers``;
  ``release_stale`` (see ``sales`` and ``redemption``);
- batches: ``create_batch``, ``generate``, ``activate_batch``, blocking (see ``batches``).
"""

from __future__ import annotations

from topup.catalog import service as catalog
from topup.db.uow import Database, UnitOfWork
from topup.money import Money
from topup.vouchers import cards, limits
from topup.vouchers.batches import (
    BatchSpec,
    activate_batch,
    batch_counts,
    block_batch,
    block_range,
    create_batch,
    get_batch,
    list_batches,
    unblock_batch,
    unblock_range,
)
from topup.vouchers.cards import get_voucher
from topup.vouchers.errors import RedemptionLocked
from topup.vouchers.generate import Card, CardChunk, generate
from topup.vouchers.redemption import (
    RedeemContext,
    Redemption,
    redeem,
    release_stale,
)
from topup.vouchers.sales import expire_vouchers, sell
from topup.vouchers.views import (
    BatchView,
    SerialCheck,
    VoucherView,
    effective_state,
    serial_text,
)

__all__ = [
    "BatchSpec",
    "BatchView",
    "Card",
    "CardChunk",
    "RedeemContext",
    "Redemption",
    "SerialCheck",
    "VoucherView",
    "activate_batch",
    "batch_counts",
    "block_batch",
    "block_range",
    "check_serial",
    "create_batch",
    "expire_vouchers",
    "generate",
    "get_batch",
    "get_voucher",
    "list_batches",
    "public_check",
    "redeem",
    "release_stale",
    "sell",
    "unblock_batch",
    "unblock_range",
]


def check_serial(uow: UnitOfWork, serial: str) -> SerialCheck:
    """The state and face value of the voucher with ``serial`` (and its plan's name), for
    someone about to buy the card; VoucherNotFound for an unknown serial."""
    row = cards.by_serial(uow, serial)
    names: tuple[str | None, str | None] = (None, None)
    if row.plan_id is not None:
        plan = catalog.get_plan(uow, int(row.plan_id))
        names = (plan.name_en, plan.name_zh)
    return SerialCheck(
        serial=serial_text(row.serial),
        state=effective_state(row.state, row.batch_state, row.expires_at, uow.now),
        face=Money(int(row.face_amount), row.currency),
        plan_name_en=names[0], plan_name_zh=names[1])


def public_check(db: Database, serial: str, ip: str | None) -> SerialCheck:
    """``check_serial`` for the public, counted per address (RedemptionLocked after
    ``voucher_checks_per_ip`` checks in the lockout window)."""
    wait = db.transact(lambda uow: limits.count_check(uow, ip), what="voucher check count")
    if wait:
        raise RedemptionLocked(f"too many checks; try again in {wait} seconds", retry_after=wait)
    with db.unit(readonly=True) as uow:
        return check_serial(uow, serial)
