"""Fifty people redeem the same card at the same moment: one wins, the others are told it is
used (or being redeemed), and the wallet is credited once."""

from __future__ import annotations

import threading

from tests.factories import make_line
from tests.integration.vouchers.conftest import make_batch, operator_total, wallet
from topup.db.uow import Database
from topup.subscribers.lines import Line
from topup.vouchers import service as vouchers
from topup.vouchers.errors import VoucherBusy, VoucherUsed

THREADS = 50


def _race(db: Database, pin: str, line_ids: list[int]) -> list[object]:
    results: list[object] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def go(n: int) -> None:
        ctx = vouchers.RedeemContext(channel="api", ip=f"203.0.113.{n}", session=f"s{n}")
        start.wait()
        try:
            out: object = vouchers.redeem(db, pin, line_ids[n % len(line_ids)], ctx)
        except Exception as exc:
            out = exc
        with lock:
            results.append(out)

    threads = [threading.Thread(target=go, args=(n,)) for n in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_fifty_concurrent_redemptions_of_one_pin_give_one_success(db: Database, line: Line
                                                                  ) -> None:
    made = make_batch(db, count=2, face=88_00)
    results = _race(db, made.pins[0], [line.id])
    wins = [r for r in results if isinstance(r, vouchers.Redemption)]
    losers = [r for r in results if not isinstance(r, vouchers.Redemption)]
    assert len(results) == THREADS
    assert len(wins) == 1, results
    assert all(isinstance(r, VoucherUsed | VoucherBusy) for r in losers), losers
    assert wallet(db, line.id) == 88_00
    assert operator_total(db, "voucher_liability") == 88_00  # the other card
    assert operator_total(db, "clearing:voucher") == 0


def test_racing_lines_cannot_split_one_card(db: Database) -> None:
    lines = [make_line(db, country="TH").id for _ in range(5)]
    made = make_batch(db, count=1, face=10_00)
    results = _race(db, made.pins[0], lines)
    wins = [r for r in results if isinstance(r, vouchers.Redemption)]
    assert len(wins) == 1
    assert sum(wallet(db, i) for i in lines) == 10_00
