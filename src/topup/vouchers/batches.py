"""Voucher batches: create, activate (sold to a distributor), block and unblock.

Every staff action here writes an audit entry in the same transaction. Blocking a batch
freezes it as a whole (one row: its cards are refused at once, however many); blocking a
serial range marks each card in it, remembering the state to restore.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text, update

from topup.audit.service import record as audit
from topup.catalog import service as catalog
from topup.catalog.errors import CatalogError
from topup.catalog.quotes import price
from topup.db.uow import UnitOfWork
from topup.errors import InvalidInput
from topup.ledger import service as ledger
from topup.money import MAX_AMOUNT, Money, offered_currency
from topup.vouchers import books
from topup.vouchers.errors import BatchNotFound, InvalidBatch, VoucherStateConflict
from topup.vouchers.pins import DEFAULT_LENGTH, MAX_LENGTH, MIN_LENGTH
from topup.vouchers.tables import BLOCKABLE, voucher_batches, vouchers
from topup.vouchers.views import FIRST_SERIAL, SERIAL_DIGITS, BatchView, parse_serial

MAX_COUNT = 10_000_000
_SERIAL_LOCK = 0x766F7563  # "vouc": one batch at a time takes the next serial range


@dataclass(frozen=True, kw_only=True)
class BatchSpec:
    """What staff ask for: ``count`` cards of a face value (or of a plan), expiring then."""

    count: int
    expires_at: datetime
    currency: str | None = None
    face_amount: int | None = None  # minor units; a plan voucher takes the plan's price
    plan_id: int | None = None
    pin_length: int = DEFAULT_LENGTH
    distributor: str | None = None
    agent_id: int | None = None
    label: str | None = None


def _face(uow: UnitOfWork, spec: BatchSpec) -> tuple[Money, int | None]:
    currency = offered_currency(spec.currency or uow.settings.default_currency,
                                uow.settings.currencies)
    if spec.plan_id is None:
        if spec.face_amount is None or not 0 < spec.face_amount <= MAX_AMOUNT:
            raise InvalidBatch("a money voucher needs a face_amount of 1 to "
                               f"{MAX_AMOUNT} minor units", field="face_amount")
        return Money(spec.face_amount, currency), None
    if spec.face_amount is not None:
        raise InvalidBatch("a plan voucher's face value is the plan's price; give no "
                           "face_amount", field="face_amount")
    try:
        plan = catalog.get_plan(uow, spec.plan_id)
        # the face is what the price service quotes for the plan now (on sale, in currency)
        quoted = price(uow, plan, currency, uow.now, "voucher", offers="none")
        return quoted.money(quoted.total), plan.id
    except CatalogError as exc:
        raise InvalidBatch(exc.detail, field="plan_id") from exc


def _check(uow: UnitOfWork, spec: BatchSpec) -> None:
    if not 0 < spec.count <= MAX_COUNT:
        raise InvalidBatch(f"a batch has 1 to {MAX_COUNT} cards", field="count")
    if not MIN_LENGTH <= spec.pin_length <= MAX_LENGTH:
        raise InvalidBatch(f"a PIN has {MIN_LENGTH} to {MAX_LENGTH} digits", field="pin_length")
    if spec.expires_at.tzinfo is None or spec.expires_at <= uow.now:
        raise InvalidBatch("the expiry must be a time in the future (with a time zone)",
                           field="expires_at")


def _next_serial(uow: UnitOfWork) -> int:
    if uow.dialect == "postgresql":  # SQLite's single writer already serialises this
        uow.conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SERIAL_LOCK})
    last = uow.conn.execute(select(func.max(voucher_batches.c.serial_last))).scalar()
    return FIRST_SERIAL if last is None else int(last) + 1


def create_batch(uow: UnitOfWork, spec: BatchSpec, actor_id: int | None) -> BatchView:
    """Record a batch and reserve its serial range; its cards come from ``generate``."""
    _check(uow, spec)
    face, plan_id = _face(uow, spec)
    first = _next_serial(uow)
    if first + spec.count > 10 ** SERIAL_DIGITS:
        raise InvalidBatch("the serial numbers are used up", field="count")
    new_id = uow.conn.execute(insert(voucher_batches).values(
        label=(spec.label or "").strip() or None, count=spec.count, face_amount=face.amount,
        currency=face.currency, plan_id=plan_id, pin_length=spec.pin_length,
        serial_first=first, serial_last=first + spec.count - 1, expires_at=spec.expires_at,
        distributor=(spec.distributor or "").strip() or None, agent_id=spec.agent_id,
        state="created", generated=0, created_by=actor_id, created_at=uow.now,
    ).returning(voucher_batches.c.id)).scalar_one()
    batch = get_batch(uow, int(new_id))
    audit(uow, actor_id, "voucher_batch.create", f"voucher_batch:{batch.id}",
          count=batch.count, face=face.amount, currency=face.currency, plan_id=plan_id,
          serials=f"{batch.serial_first}-{batch.serial_last}", label=batch.label)
    return batch


def get_batch(uow: UnitOfWork, batch_id: int, *, lock: bool = False) -> BatchView:
    """The batch; BatchNotFound when there is none."""
    query = select(voucher_batches).where(voucher_batches.c.id == batch_id)
    if lock and uow.dialect == "postgresql":
        query = query.with_for_update()
    row = uow.conn.execute(query).first()
    if row is None:
        raise BatchNotFound()
    return BatchView.of(row)


def list_batches(uow: UnitOfWork, *, limit: int = 50, before: int | None = None
                 ) -> list[BatchView]:
    """Batches, newest first, keyset-paged by id."""
    query = select(voucher_batches).order_by(voucher_batches.c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(voucher_batches.c.id < before)
    return [BatchView.of(r) for r in uow.conn.execute(query)]


def batch_counts(uow: UnitOfWork, batch_id: int) -> dict[str, int]:
    """How many of the batch's cards are in each stored state."""
    rows = uow.conn.execute(select(vouchers.c.state, func.count()).where(
        vouchers.c.batch_id == batch_id).group_by(vouchers.c.state))
    return {str(state): int(n) for state, n in rows}


def activate_batch(uow: UnitOfWork, batch_id: int, actor_id: int | None, *,
                   distributor: str | None = None, agent_id: int | None = None) -> BatchView:
    """The batch was sold to a distributor: every unsold, unblocked card becomes active and
    its face value moves ``voucher_sales -> voucher_liability`` (once: a second activation is
    refused)."""
    batch = get_batch(uow, batch_id, lock=True)
    if batch.state != "created":
        raise VoucherStateConflict(f"the batch is {batch.state}; only a created batch is "
                                   "activated", batch_state=batch.state)
    if not batch.complete:
        raise VoucherStateConflict("the batch's cards are not all generated yet")
    who = (distributor or "").strip() or batch.distributor
    if not who and (agent_id or batch.agent_id) is None:
        raise InvalidBatch("name the distributor the batch was sold to", field="distributor")
    sold = _activate_cards(uow, batch)
    uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == batch_id).values(
        state="active", activated_at=uow.now, distributor=who,
        agent_id=agent_id if agent_id is not None else batch.agent_id))
    audit(uow, actor_id, "voucher_batch.activate", f"voucher_batch:{batch_id}",
          distributor=who, agent_id=agent_id, cards=sold,
          amount=sold * batch.face.amount, currency=batch.face.currency)
    return get_batch(uow, batch_id)


def _activate_cards(uow: UnitOfWork, batch: BatchView) -> int:
    unsold = (vouchers.c.batch_id == batch.id) & vouchers.c.state.in_(("generated",
                                                                       "distributed"))
    shards = uow.settings.ledger_shards
    per_shard = uow.conn.execute(select((vouchers.c.id % shards).label("shard"), func.count())
                                 .where(unsold).group_by("shard")).all()
    src = books.sales(uow, batch.face.currency)
    for shard, n in per_shard:
        # Any voucher id of the shard names the shard's liability account.
        ledger.transfer(uow, f"voucher_batch:{batch.id}:activate:{shard}", src,
                        books.liability(uow, int(shard), batch.face.currency),
                        int(n) * batch.face.amount, code="voucher_activation",
                        ref=f"voucher_batch:{batch.id}")
    uow.conn.execute(update(vouchers).where(unsold).values(state="active",
                                                           activated_at=uow.now))
    return sum(int(n) for _, n in per_shard)


def _reason(reason: str) -> str:
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    return reason.strip()


def block_batch(uow: UnitOfWork, batch_id: int, actor_id: int | None, reason: str
                ) -> BatchView:
    """Freeze a whole batch (lost shipment, dispute): none of its cards redeems or sells."""
    why = _reason(reason)
    batch = get_batch(uow, batch_id, lock=True)
    if batch.state == "frozen":
        raise VoucherStateConflict("the batch is already blocked", batch_state=batch.state)
    uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == batch_id).values(
        state="frozen", state_before_freeze=batch.state))
    audit(uow, actor_id, "voucher_batch.block", f"voucher_batch:{batch_id}", reason=why)
    return get_batch(uow, batch_id)


def unblock_batch(uow: UnitOfWork, batch_id: int, actor_id: int | None, reason: str
                  ) -> BatchView:
    """Lift a batch's freeze, restoring the state it had."""
    why = _reason(reason)
    get_batch(uow, batch_id, lock=True)
    before = uow.conn.execute(select(voucher_batches.c.state_before_freeze).where(
        voucher_batches.c.id == batch_id)).scalar()
    if before is None:
        raise VoucherStateConflict("the batch is not blocked")
    uow.conn.execute(update(voucher_batches).where(voucher_batches.c.id == batch_id).values(
        state=before, state_before_freeze=None))
    audit(uow, actor_id, "voucher_batch.unblock", f"voucher_batch:{batch_id}", reason=why)
    return get_batch(uow, batch_id)


def _range(first: str, last: str) -> tuple[int, int]:
    lo, hi = parse_serial(first), parse_serial(last)
    if hi < lo:
        raise InvalidInput("the last serial comes before the first", field="last")
    return lo, hi


def block_range(uow: UnitOfWork, first: str, last: str, actor_id: int | None, reason: str
                ) -> int:
    """Block every unused card with a serial in ``first..last``; returns how many."""
    why, (lo, hi) = _reason(reason), _range(first, last)
    done = uow.conn.execute(update(vouchers).where(
        vouchers.c.serial.between(lo, hi), vouchers.c.state.in_(BLOCKABLE),
    ).values(state_before_block=vouchers.c.state, state="blocked")).rowcount
    audit(uow, actor_id, "voucher.block", f"vouchers:{first}-{last}", reason=why, cards=done)
    return int(done)


def unblock_range(uow: UnitOfWork, first: str, last: str, actor_id: int | None, reason: str
                  ) -> int:
    """Unblock the blocked cards with a serial in ``first..last``; returns how many."""
    why, (lo, hi) = _reason(reason), _range(first, last)
    done = uow.conn.execute(update(vouchers).where(
        vouchers.c.serial.between(lo, hi), vouchers.c.state == "blocked",
    ).values(state=vouchers.c.state_before_block, state_before_block=None)).rowcount
    audit(uow, actor_id, "voucher.unblock", f"vouchers:{first}-{last}", reason=why, cards=done)
    return int(done)
