"""Serials and the state a card holder sees; every voucher error has a stable code, a status
and a Chinese title."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta

import pytest

from topup.channels.api.messages import ZH
from topup.errors import TopupError
from topup.vouchers import errors
from topup.vouchers.errors import VoucherError, VoucherNotFound
from topup.vouchers.views import effective_state, parse_serial, serial_text

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def test_serials_are_twelve_digits() -> None:
    assert serial_text(100000000042) == "100000000042"
    assert parse_serial("1000 0000-0042") == 100000000042
    for bad in ("12345", "1000000000421", "10000000004x", "１００００００００００４２"):
        with pytest.raises(VoucherNotFound):
            parse_serial(bad)


@pytest.mark.parametrize("state, batch, days, seen", [
    ("active", "active", 1, "active"),
    ("active", "frozen", 1, "blocked"),
    ("active", "active", -1, "expired"),
    ("distributed", "created", 1, "distributed"),
    ("blocked", "active", -1, "blocked"),
    ("used", "frozen", -1, "used"),
    ("reserved", "frozen", -1, "reserved"),
])
def test_effective_state(state: str, batch: str, days: int, seen: str) -> None:
    assert effective_state(state, batch, NOW + timedelta(days=days), NOW) == seen


def test_every_voucher_error_has_a_code_status_and_chinese_title() -> None:
    found = [c for _, c in inspect.getmembers(errors, inspect.isclass)
             if issubclass(c, VoucherError)]
    assert len(found) >= 12
    codes = [c.code for c in found]
    assert len(set(codes)) == len(codes)
    for cls in found:
        assert issubclass(cls, TopupError) and cls.__doc__
        assert cls.code in ZH, f"no zh-CN title for {cls.code}"
    assert errors.RedemptionLocked.status == 429 and errors.WrongPin.status == 422
    assert errors.WrongPin.code == "voucher_invalid"
    assert errors.RedemptionLocked.code == "voucher_locked"
