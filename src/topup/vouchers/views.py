"""What voucher services hand back: batches, vouchers, and the public serial check."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from topup.money import Money
from topup.vouchers.errors import VoucherNotFound

SERIAL_DIGITS = 12
FIRST_SERIAL = 10 ** (SERIAL_DIGITS - 1)  # serials never start with 0: easier to read aloud
_SEPARATORS = re.compile(r"[\s\-]")


def serial_text(serial: int) -> str:
    """A serial as printed and shown: 12 digits."""
    return f"{serial:0{SERIAL_DIGITS}d}"


def parse_serial(raw: str) -> int:
    """A typed serial (spaces and dashes allowed); VoucherNotFound when it cannot be one."""
    text = _SEPARATORS.sub("", raw or "")
    if not text.isascii() or not text.isdigit() or len(text) != SERIAL_DIGITS:
        raise VoucherNotFound(f"a serial number has {SERIAL_DIGITS} digits")
    return int(text)


def effective_state(state: str, batch_state: str, expires_at: datetime, now: datetime) -> str:
    """The state a holder sees: a frozen batch blocks its cards, and expiry is at once
    visible even before the expiry sweep has moved the voucher."""
    if state in ("used", "expired", "reserved"):
        return state
    if state == "blocked" or batch_state == "frozen":
        return "blocked"
    if expires_at <= now:
        return "expired"
    return state


@dataclass(frozen=True)
class BatchView:
    """A voucher batch as staff see it (never any PIN)."""

    id: int
    label: str | None
    count: int
    face: Money
    plan_id: int | None
    pin_length: int
    serial_first: str
    serial_last: str
    expires_at: datetime
    distributor: str | None
    agent_id: int | None
    state: str
    generated: int
    generated_at: datetime | None
    created_at: datetime
    activated_at: datetime | None

    @property
    def complete(self) -> bool:
        """True once every card of the batch was generated (and exported)."""
        return self.generated_at is not None

    @classmethod
    def of(cls, row: Any) -> BatchView:
        m = row._mapping
        return cls(
            id=int(m["id"]), label=m["label"], count=int(m["count"]),
            face=Money(int(m["face_amount"]), m["currency"]), plan_id=m["plan_id"],
            pin_length=int(m["pin_length"]), serial_first=serial_text(m["serial_first"]),
            serial_last=serial_text(m["serial_last"]), expires_at=m["expires_at"],
            distributor=m["distributor"], agent_id=m["agent_id"], state=m["state"],
            generated=int(m["generated"]), generated_at=m["generated_at"],
            created_at=m["created_at"], activated_at=m["activated_at"])


@dataclass(frozen=True)
class VoucherView:
    """One voucher as staff and retailers see it (never its PIN)."""

    id: int
    serial: str
    batch_id: int
    state: str  # effective: see ``effective_state``
    face: Money
    plan_id: int | None
    expires_at: datetime
    activated_at: datetime | None
    used_at: datetime | None
    line_id: int | None
    order_id: int | None


def voucher_view(row: Any, now: datetime) -> VoucherView:
    """A view of a row of ``vouchers`` joined with its batch's columns (``batch_state``…)."""
    m = row._mapping
    return VoucherView(
        id=int(m["id"]), serial=serial_text(m["serial"]), batch_id=int(m["batch_id"]),
        state=effective_state(m["state"], m["batch_state"], m["expires_at"], now),
        face=Money(int(m["face_amount"]), m["currency"]), plan_id=m["plan_id"],
        expires_at=m["expires_at"], activated_at=m["activated_at"], used_at=m["used_at"],
        line_id=m["line_id"], order_id=m["order_id"])


@dataclass(frozen=True)
class SerialCheck:
    """What anyone may learn from a serial: its state and face value, nothing more."""

    serial: str
    state: str
    face: Money
    plan_name_en: str | None = None
    plan_name_zh: str | None = None
