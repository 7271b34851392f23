"""Guessing PINs: 10,000 wrong PINs end in a lockout that teaches nothing, the operator is
alerted, and the limits per line, address, terminal and session are independent."""

from __future__ import annotations

import dataclasses
import random

import pytest
from stdnum import luhn

from tests.factories import make_line
from tests.integration.vouchers.conftest import make_batch, wallet
from topup.audit.service import entries
from topup.clock import FrozenClock
from topup.db.uow import Database
from topup.notifications.rendering import render
from topup.notifications.service import queued_for
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers
from topup.vouchers.errors import RedemptionLocked, VoucherError, WrongPin

GUESSES = 10_000
ALERTS = "noc@example.com"


def guesses(n: int, avoid: set[str], seed: int = 7) -> list[str]:
    """``n`` distinct 16-digit PINs with valid check digits, none of them real."""
    rng, out = random.Random(seed), set[str]()
    while len(out) < n:
        body = f"{rng.randrange(10 ** 15):015d}"
        pin = body + luhn.calc_check_digit(body)
        if pin not in avoid:
            out.add(pin)
    return sorted(out)


def answer(exc: VoucherError) -> tuple[object, ...]:
    """Everything a caller learns from a refusal (what the API turns into problem+json)."""
    return (type(exc).__name__, exc.code, exc.status, exc.title, exc.detail,
            tuple(sorted(exc.extra.items())))


def attempt(db: Database, pin: str, line_id: int, ctx: vouchers.RedeemContext
            ) -> tuple[object, ...]:
    try:
        vouchers.redeem(db, pin, line_id, ctx)
    except VoucherError as exc:
        return answer(exc)
    raise AssertionError("a guess was accepted")


def test_ten_thousand_wrong_pins_end_in_a_lockout_that_teaches_nothing(
        db: Database, line: Line, clock: FrozenClock) -> None:
    db.settings = dataclasses.replace(db.settings, alert_email=ALERTS)
    made = make_batch(db, count=20, face=100_00)
    real = set(made.pins)
    ctx = vouchers.RedeemContext(channel="api", ip="192.0.2.10")
    wrong = guesses(GUESSES, real)
    wrong[GUESSES // 2] = made.pins[3]  # a right PIN in the middle of the flood
    answers = [attempt(db, pin, line.id, ctx) if pin not in real else None for pin in wrong]
    limit = db.settings.voucher_max_failures
    first, rest = answers[:limit], [a for a in answers[limit:] if a is not None]
    assert {a[1] for a in first} == {"voucher_invalid"}
    assert len(set(first)) == 1, "every wrong PIN gets the same answer"
    assert {a[1] for a in rest} == {"voucher_locked"} and len(set(rest)) == 1
    with pytest.raises(RedemptionLocked) as locked:
        vouchers.redeem(db, made.pins[3], line.id, ctx)
    assert answer(locked.value) == rest[0], "a right PIN while locked looks like any other"
    assert locked.value.extra["retry_after"] == db.settings.voucher_lockout_seconds + 1
    assert wallet(db, line.id) == 0
    with db.unit(readonly=True) as uow:
        lockouts = [e for e in entries(uow, limit=50) if e["action"] == "voucher.lockout"]
        mails = queued_for(uow, ALERTS)
    assert [e["target"] for e in lockouts] == [f"voucher:line:{line.id}"]
    assert [m["template"] for m in mails] == ["voucher_lockout"]
    assert mails[0]["params"]["line_id"] == line.id
    alert = render("voucher_lockout", "email", "en", mails[0]["params"], operator="topup")
    assert f"voucher:line:{line.id}" in alert.subject and "192.0.2.10" in alert.text
    clock.advance(seconds=db.settings.voucher_lockout_seconds)
    assert vouchers.redeem(db, made.pins[3], line.id, ctx).order_id > 0


def test_a_typo_is_told_apart_and_not_counted(db: Database, line: Line) -> None:
    made = make_batch(db, count=1, face=5_00)
    pin = made.pins[0]
    typo = pin[:-1] + str((int(pin[-1]) + 1) % 10)
    ctx = vouchers.RedeemContext(channel="ussd", session="sess-1")
    for _ in range(db.settings.voucher_max_failures * 3):
        with pytest.raises(WrongPin) as exc:
            vouchers.redeem(db, typo, line.id, ctx)
        assert exc.value.extra == {"typo": True}
        with pytest.raises(WrongPin):
            vouchers.redeem(db, "12345", line.id, ctx)
    assert vouchers.redeem(db, pin, line.id, ctx).order_id > 0


def test_one_address_guessing_over_many_lines_is_locked(db: Database) -> None:
    shared = db.settings.voucher_max_failures_shared
    per_line = db.settings.voucher_max_failures - 1  # never enough to lock a line
    lines = [make_line(db, country="TH").id for _ in range(shared // per_line + 1)]
    made = make_batch(db, count=1, face=5_00)
    wrong = iter(guesses(shared, set(made.pins)))
    ctx = vouchers.RedeemContext(channel="api", ip="192.0.2.99")
    for n in range(shared):
        with pytest.raises(WrongPin):
            vouchers.redeem(db, next(wrong), lines[n // per_line], ctx)
    with pytest.raises(RedemptionLocked):
        vouchers.redeem(db, made.pins[0], lines[-1], ctx)
    other = vouchers.RedeemContext(channel="api", ip="192.0.2.100")
    assert vouchers.redeem(db, made.pins[0], lines[-1], other).order_id > 0


@pytest.mark.parametrize("key", ["session", "terminal"])
def test_a_session_or_terminal_is_locked_across_lines(db: Database, key: str) -> None:
    limit = (db.settings.voucher_max_failures if key == "session"
             else db.settings.voucher_max_failures_shared)
    lines = [make_line(db, country="TH").id for _ in range(limit)]
    made = make_batch(db, count=1, face=5_00)
    ctx = vouchers.RedeemContext(channel="pos", **({"session": "call-42"} if key == "session"
                                                  else {"terminal_id": 7}))
    for n, pin in enumerate(guesses(limit, set(made.pins))):
        with pytest.raises(WrongPin):
            vouchers.redeem(db, pin, lines[n], ctx)
    fresh = make_line(db, country="TH").id
    with pytest.raises(RedemptionLocked):
        vouchers.redeem(db, made.pins[0], fresh, ctx)
    assert vouchers.redeem(db, made.pins[0], fresh,
                           vouchers.RedeemContext(channel="pos")).order_id > 0
