"""The last profiles of a pool under a rush: 50 buyers at once for 20 profiles. Each profile
is reserved once and assigned once, the other buyers are told it is sold out, and the books
balance (the ``db`` fixture checks them after the test)."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from tests.factories import Api, make_user
from tests.integration.esim.test_store import pay, plan_id, shop, stock_up, vendor_rows
from topup.esim.tables import esim_profiles

__all__ = ["shop"]  # the fixture, shared with test_store

BUYERS, STOCK = 50, 20


def test_fifty_buyers_for_twenty_profiles_never_share_one(shop: Api) -> None:
    stock_up(shop.db, vendor_rows(STOCK, zone="JP", ptype="jp-only"))
    logins = [shop.login(str(make_user(shop.db).email)) for _ in range(BUYERS)]
    body = {"plan_id": plan_id(shop.db, "JP-7D-10GB"), "currency": "JPY", "method": "sandbox"}
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()
    start = threading.Barrier(BUYERS)

    def buy(me: dict[str, str], n: int) -> None:
        start.wait()
        r = shop.post("/api/v1/store/orders", me, key=f"rush-{n}", json=body)
        with lock:
            answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=buy, args=(me, n)) for n, me in enumerate(logins)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = Counter(status for status, _ in answers)
    assert codes == {201: STOCK, 409: BUYERS - STOCK}, codes
    assert {a["code"] for s, a in answers if s == 409} == {"esim_out_of_stock"}
    bought = [a for s, a in answers if s == 201]
    iccids = [a["esim"]["iccid"] for a in bought]
    assert len(set(iccids)) == STOCK

    payers = [threading.Thread(target=pay, args=(shop, a["order"])) for a in bought]
    for t in payers:
        t.start()
    for t in payers:
        t.join(120)
    with shop.db.unit(readonly=True) as uow:
        rows = uow.conn.execute(select(esim_profiles.c.state, esim_profiles.c.order_id,
                                       esim_profiles.c.iccid)).all()
    assert Counter(r.state for r in rows) == {"assigned": STOCK}
    assert len({r.order_id for r in rows}) == STOCK
    assert sorted(r.iccid for r in rows) == sorted(iccids)
